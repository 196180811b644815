// The Peer's error events carry SkyWay's err.type for each failure a page can
// provoke on its own.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openSdkPage, useEnv, withContext } from "./harness.mjs";

/** Evaluates, in page, `make(T)`'s result's next error event: {type, message, isError, opened}. */
function nextError(page, make, arg) {
  return page.evaluate(
    async ({ make, arg }) => {
      // A listener added right after construction, as a page would, must see the event.
      let emitter = new Function("T", "arg", `return (${make})(T, arg)`)(T, arg);
      if (emitter instanceof Promise) emitter = await emitter;
      let opened = false;
      emitter.on?.("open", () => (opened = true));
      const err = await T.event(emitter, "error", 15_000, "the error event");
      return { type: err?.type, message: String(err?.message ?? ""), isError: err instanceof Error, opened };
    },
    { make: make.toString(), arg },
  );
}

function assertError(got, type) {
  assert.equal(got.type, type, `err.type: ${JSON.stringify(got)}`);
  assert.equal(got.isError, true, "err is an Error");
  assert.ok(got.message.length > 0, "err.message says something");
}

describe("Peer error events", { timeout: 300_000 }, () => {
  const env = useEnv();

  it("invalid-key: a key that is not a UUID", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await nextError(page, () => new Peer({ key: "not-a-uuid", debug: 0 }));
      assertError(got, "invalid-key");
      assert.equal(got.opened, false, "the peer never opened");
    });
  });

  it("invalid-key: a well-formed key the server does not know", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await nextError(page, () => new Peer({ key: "00000000-0000-4000-8000-000000000000", debug: 0 }));
      assertError(got, "invalid-key");
    });
  });

  it("invalid-id: an ID the SkyWay rules refuse", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      for (const id of ["bad id!", "has/slash", "trailing ", "two  spaces", "ümlaut"]) {
        const got = await nextError(page, (T, id) => new Peer(id, { key: T.key(), debug: 0 }), id);
        assertError(got, "invalid-id");
        assert.equal(got.opened, false, `the peer ${JSON.stringify(id)} never opened`);
      }
    });
  });

  it("unavailable-id: two peers asking for the same ID", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const a = await openSdkPage(open);
      const b = await openSdkPage(open);
      const id = `taken-${Date.now()}`;
      assert.equal(await a.evaluate(async (id) => (window.peer = await T.openPeer(id)).id, id), id);
      const got = await nextError(b, (T, id) => new Peer(id, { key: T.key(), debug: 0 }), id);
      assertError(got, "unavailable-id");
      assert.equal(got.opened, false);
      // The first peer keeps its ID and stays open.
      assert.deepEqual(await a.evaluate(() => [window.peer.open, window.peer.id]), [true, id]);
    });
  });

  it("peer-unavailable: connecting to or calling an ID nobody has", { timeout: 45_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      await page.evaluate(async () => {
        window.peer = await T.openPeer();
      });
      const connect = await nextError(page, () => {
        window.conn = window.peer.connect(`nobody-${Date.now()}`);
        return window.peer;
      });
      assertError(connect, "peer-unavailable");

      const call = await nextError(page, async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        window.call = window.peer.call(`nobody-${Date.now()}`, stream);
        return window.peer;
      });
      assertError(call, "peer-unavailable");
      assert.equal(await page.evaluate(() => window.peer.open), true, "the peer stays open");
    });
  });

  it("disconnected: call or connect on a destroyed peer returns undefined", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        const closed = T.event(peer, "close", 5_000, "the peer's close event");
        peer.destroy();
        await closed;
        const out = { open: peer.open };
        for (const method of ["connect", "call"]) {
          const error = T.event(peer, "error", 5_000, "the error event");
          const returned = method === "connect" ? peer.connect("someone") : peer.call("someone");
          const err = await error.catch((e) => e);
          out[method] = { returned: returned === undefined ? "undefined" : String(returned), type: err?.type };
        }
        return out;
      });
      assert.deepEqual(got, {
        open: false,
        connect: { returned: "undefined", type: "disconnected" },
        call: { returned: "undefined", type: "disconnected" },
      });
    });
  });

  it("connect() throws for an unknown serialization", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        try {
          peer.connect("someone", { serialization: "msgpack" });
          return "did not throw";
        } catch (err) {
          return `threw ${err?.name}`;
        }
      });
      assert.match(got, /^threw /);
    });
  });
});
