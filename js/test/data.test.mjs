// DataConnection between two pages: every value type, for each serialization,
// arrives as skywasm's JS API contract says; then a 20 MiB file through the
// p2p-data example's own UI.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openSdkPage, useEnv, withContext } from "./harness.mjs";

/**
 * Connects page a to page b with the given connect() options and returns
 * what each side's DataConnection says about itself. Afterwards a.conn and
 * b.conn are the two ends; b.received collects what b's end got.
 */
async function connectPages(a, b, options) {
  await Promise.all([a, b].map((page) => page.evaluate(async () => (window.peer = await T.openPeer()).id)));
  const bId = await b.evaluate(() => {
    window.received = [];
    window.peer.on("connection", (conn) => {
      window.conn = conn;
      conn.on("data", (data) => window.received.push(data));
    });
    return window.peer.id;
  });
  const aSide = await a.evaluate(
    async ({ bId, options }) => {
      const conn = (window.conn = window.peer.connect(bId, options));
      await T.event(conn, "open", 15_000, "the DataConnection's open event");
      const { id, type, label, serialization, metadata, remoteId, open } = conn;
      return { id, type, label, serialization, metadata, remoteId, open };
    },
    { bId, options },
  );
  const bSide = await b.evaluate(async () => {
    const conn = await T.until(() => window.conn?.open && window.conn, 15_000, "the far side's open connection");
    const { id, type, label, serialization, metadata, remoteId, open } = conn;
    return { id, type, label, serialization, metadata, remoteId, open };
  });
  return { aSide, bSide, aId: bSide.remoteId, bId };
}

/**
 * Sends every case of T.cases(serialization) from a to b in order and
 * returns, per case, what b had to get and what it got (T.describe forms).
 */
async function roundTrip(a, b, serialization) {
  const sent = await a.evaluate(async (serialization) => {
    const cases = T.cases(serialization);
    const results = [];
    for (const c of cases) {
      results.push(await T.deadline(window.conn.send(c.value), 20_000, `conn.send(${c.name})`));
    }
    return {
      cases: await Promise.all(cases.map(async (c) => ({ group: c.group, name: c.name, expect: await T.describe(c.expect) }))),
      results,
    };
  }, serialization);
  const got = await b.evaluate(async (n) => {
    await T.until(() => window.received.length >= n, 30_000, `${n} values`).catch(() => {});
    return Promise.all(window.received.map((v) => T.describe(v)));
  }, sent.cases.length);
  return { ...sent, got };
}

/** Asserts that every case arrived as expected, listing all that did not. */
function assertCases({ cases, results, got }) {
  const problems = [];
  cases.forEach((c, i) => {
    if (results[i] !== true) problems.push(`${c.group} / ${c.name}: send resolved ${results[i]}, want true`);
  });
  if (got.length !== cases.length) {
    problems.push(`received ${got.length} values, want ${cases.length} (values compared in order)`);
  }
  cases.forEach((c, i) => {
    if (i >= got.length) return;
    try {
      assert.deepStrictEqual(got[i], c.expect);
    } catch {
      problems.push(`${c.group} / ${c.name}:\n    want ${JSON.stringify(c.expect)}\n    got  ${JSON.stringify(got[i])}`);
    }
  });
  assert.equal(problems.length, 0, `${problems.length} of ${cases.length} values did not round-trip:\n${problems.join("\n")}`);
}

describe("DataConnection between two pages", { timeout: 600_000 }, () => {
  const env = useEnv();

  for (const serialization of ["binary", "binary-utf8", "json", "none"]) {
    it(`${serialization}: every value arrives as the contract says`, { timeout: 120_000 }, async () => {
      await withContext(env, async ({ open }) => {
        const a = await openSdkPage(open);
        const b = await openSdkPage(open);
        const options = { serialization, label: `label-${serialization}`, metadata: { purpose: "test", n: 1 } };
        const { aSide, bSide, aId, bId } = await connectPages(a, b, options);

        // The answering side mirrors what the offer carried.
        assert.equal(aSide.type, "data");
        assert.match(aSide.id, /^dc_/);
        assert.equal(aSide.remoteId, bId);
        assert.equal(aSide.serialization, serialization);
        assert.equal(aSide.open, true);
        assert.deepEqual(
          { id: bSide.id, type: bSide.type, label: bSide.label, serialization: bSide.serialization, metadata: bSide.metadata },
          { id: aSide.id, type: "data", label: options.label, serialization, metadata: options.metadata },
        );
        assert.ok(aId, "the far side knows who connected");

        assertCases(await roundTrip(a, b, serialization));
      });
    });
  }

  it("none: a value other than a string, ArrayBuffer, typed array or Blob is refused with an error event", { timeout: 60_000 }, async () => {
    // The contract names no err.type for this error; the test asks for an Error with a message.
    await withContext(env, async ({ open }) => {
      const a = await openSdkPage(open);
      const b = await openSdkPage(open);
      await connectPages(a, b, { serialization: "none" });
      const refused = await a.evaluate(async () => {
        const out = [];
        for (const value of [42, { a: 1 }]) {
          const error = T.event(window.conn, "error", 5_000, "the error event");
          const sent = await T.deadline(window.conn.send(value), 5_000, "conn.send");
          const err = await error.catch((e) => e);
          out.push({ sent, isError: err instanceof Error, type: err?.type, message: String(err?.message) });
        }
        // The connection still works afterwards.
        out.push({ after: await window.conn.send("still open") });
        return out;
      });
      for (const r of refused.slice(0, 2)) {
        assert.equal(r.sent, false, `send resolves false: ${JSON.stringify(r)}`);
        assert.ok(r.isError && r.message, `an error event with an Error: ${JSON.stringify(r)}`);
      }
      assert.deepEqual(refused[2], { after: true });
      const got = await b.evaluate(() => T.until(() => window.received.length >= 1, 10_000, "the message").then(() => window.received));
      assert.deepEqual(got, ["still open"]);
    });
  });

  // receivedSums waits for n values on page and returns a checksum of each ArrayBuffer (seeded with its index, as
  // the senders compute theirs), or the value as a string.
  const receivedSums = (page, n) =>
    page.evaluate(async (n) => {
      await T.until(() => window.received.length >= n, 20_000, `${n} values`);
      return window.received.map((v, i) => (v instanceof ArrayBuffer ? new Uint8Array(v).reduce((a, x) => (a * 31 + x) >>> 0, i) : String(v)));
    }, n);

  for (const serialization of ["binary", "none"]) {
    const how = serialization === "binary" ? "through one reused buffer" : "from the page's own buffers";
    it(`${serialization}: 64 KiB values go out as one message each, ${how}, byte for byte`, { timeout: 60_000 }, async () => {
      // A new ArrayBuffer per data channel message costs Chromium more than the copy into it (fresh memory, and a
      // garbage collection every few megabytes): the SDK sends a binary frame from one buffer of the channel's, and a
      // none value from the page's own buffer, with no copy of its own.
      await withContext(env, async ({ open }) => {
        const a = await openSdkPage(open);
        const b = await openSdkPage(open);
        await connectPages(a, b, { serialization });
        const n = 8;
        const sent = await a.evaluate(async (n) => {
          const buffers = new Set();
          const own = new Set();
          let sends = 0;
          const send = RTCDataChannel.prototype.send;
          RTCDataChannel.prototype.send = function (data) {
            sends++;
            buffers.add(ArrayBuffer.isView(data) ? data.buffer : data);
            return send.call(this, data);
          };
          const sums = [];
          try {
            for (let i = 0; i < n; i++) {
              const bytes = crypto.getRandomValues(new Uint8Array(64 << 10));
              own.add(bytes.buffer);
              sums.push(bytes.reduce((a, x) => (a * 31 + x) >>> 0, i));
              if (!(await T.deadline(window.conn.send(bytes.buffer), 10_000, `send ${i}`))) return { error: `send ${i} failed` };
            }
          } finally {
            RTCDataChannel.prototype.send = send;
          }
          return { sends, buffers: buffers.size, own: [...buffers].filter((x) => own.has(x)).length, sums };
        }, n);
        assert.equal(sent.error, undefined);
        assert.equal(sent.sends, n, `${n} values of 64 KiB in one message each`);
        if (serialization === "binary") {
          assert.equal(sent.buffers, 1, "every message went out from the same buffer");
        } else {
          assert.equal(sent.own, n, "every message went out from the page's own buffer");
        }
        assert.deepEqual(await receivedSums(b, n), sent.sums);
      });
    });
  }

  for (const serialization of ["binary", "none"]) {
    it(`${serialization}: a buffer changed right after send() still goes as it was, sent at once or queued`, { timeout: 60_000 }, async () => {
      // 48 values of 64 KiB sent without awaiting: the first go at once from the page's memory, the rest wait for
      // room in the channel (1 MiB) in a copy, so the page's overwriting of each buffer must change nothing.
      await withContext(env, async ({ open }) => {
        const a = await openSdkPage(open);
        const b = await openSdkPage(open);
        await connectPages(a, b, { serialization });
        const n = 48;
        const sent = await a.evaluate(async (n) => {
          const sums = [];
          const results = [];
          for (let i = 0; i < n; i++) {
            const bytes = crypto.getRandomValues(new Uint8Array(64 << 10));
            sums.push(bytes.reduce((a, x) => (a * 31 + x) >>> 0, i));
            results.push(window.conn.send(i % 2 ? bytes : bytes.buffer));
            bytes.fill(0xff);
          }
          return { sums, ok: (await T.deadline(Promise.all(results), 20_000, "the sends")).every(Boolean) };
        }, n);
        assert.ok(sent.ok, "every send resolved true");
        assert.deepEqual(await receivedSums(b, n), sent.sums);
      });
    });
  }

  it("none: binary messages reach the page as the channel delivered them, with no copy", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const a = await openSdkPage(open);
      const b = await openSdkPage(open);
      // Every ArrayBuffer a data channel's message event carries on b, recorded before the SDK's listener sees it.
      await b.evaluate(() => {
        window.delivered = new WeakSet();
        const add = RTCDataChannel.prototype.addEventListener;
        RTCDataChannel.prototype.addEventListener = function (name, listener, ...rest) {
          if (name !== "message" || typeof listener !== "function") return add.call(this, name, listener, ...rest);
          return add.call(this, name, (e) => {
            if (e.data instanceof ArrayBuffer) window.delivered.add(e.data);
            return listener.call(this, e);
          }, ...rest);
        };
      });
      await connectPages(a, b, { serialization: "none" });
      await a.evaluate(async () => {
        for (const v of [new Uint8Array([1, 2, 3]).buffer, "text", new Uint8Array(100 << 10).fill(7)]) {
          if (!(await T.deadline(window.conn.send(v), 10_000, "send"))) throw new Error("send failed");
        }
      });
      const got = await b.evaluate(async () => {
        await T.until(() => window.received.length >= 3, 10_000, "3 values");
        return window.received.map((v) => (typeof v === "string" ? v : { bytes: v.byteLength, same: window.delivered.has(v) }));
      });
      assert.deepEqual(got, [{ bytes: 3, same: true }, "text", { bytes: 100 << 10, same: true }]);
    });
  });

  it("binary: both directions at once", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const a = await openSdkPage(open);
      const b = await openSdkPage(open);
      await connectPages(a, b, {});
      await a.evaluate(() => {
        window.received = [];
        window.conn.on("data", (data) => window.received.push(data));
      });
      const n = 200;
      const send = (page, from) =>
        page.evaluate(
          async ({ n, from }) => {
            for (let i = 0; i < n; i++) {
              if (!(await window.conn.send({ from, i, pad: "x".repeat(i * 50) }))) return `send ${i} failed`;
            }
            return "ok";
          },
          { n, from },
        );
      assert.deepEqual(await Promise.all([send(a, "a"), send(b, "b")]), ["ok", "ok"]);
      const check = (page, from) =>
        page.evaluate(
          async ({ n, from }) => {
            await T.until(() => window.received.length >= n, 20_000, `${n} messages`);
            return window.received.every((m, i) => m.from === from && m.i === i && m.pad.length === i * 50);
          },
          { n, from },
        );
      assert.equal(await check(a, "b"), true, "a got b's messages in order");
      assert.equal(await check(b, "a"), true, "b got a's messages in order");
    });
  });
});

describe("the p2p-data example", { timeout: 600_000 }, () => {
  const env = useEnv();

  it("chats, then sends a 20 MiB file with honest progress on both sides", { timeout: 240_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const a = await open("examples/p2p-data/");
      const b = await open("examples/p2p-data/");
      for (const page of [a, b]) {
        await page.locator("#state[data-state=idle]").waitFor();
      }
      const bId = (await b.locator("#my-id").textContent()).trim();
      await a.locator("#remote-id").fill(bId);
      await a.locator("#connect").click();
      await Promise.all([a, b].map((page) => page.locator("#state[data-state=connected]").waitFor()));

      // Chat, both ways.
      await a.locator("#message").fill("hello from a ✓");
      await a.locator("#send").click();
      await a.locator("#messages li.mine", { hasText: "hello from a ✓" }).waitFor();
      await b.locator("#messages li.theirs", { hasText: "hello from a ✓" }).waitFor();
      await b.locator("#message").fill("hi from b 🎉");
      await b.locator("#message").press("Enter");
      await b.locator("#messages li.mine", { hasText: "hi from b 🎉" }).waitFor();
      await a.locator("#messages li.theirs", { hasText: "hi from b 🎉" }).waitFor();

      // The file: random bytes, not a multiple of the piece size.
      const size = 20 * 1024 * 1024 + 12_345;
      const sent = await a.evaluate(async (size) => {
        const bytes = new Uint8Array(size);
        for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536));
        const file = new File([bytes], "random ✓.bin", { type: "application/x-random" });
        const transfer = new DataTransfer();
        transfer.items.add(file);
        const input = document.querySelector("#file");
        input.files = transfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        return { name: file.name, type: file.type, size: file.size, sha256: await T.sha256(bytes) };
      }, size);

      // Sample each page's progress bar and the longest stall of its event loop.
      const monitor = (selector) => {
        const bar = document.querySelector(selector);
        const m = (window.monitor = { values: [], maxGap: 0, stalls: 0, visibility: document.visibilityState });
        let last = performance.now();
        m.timer = setInterval(() => {
          const now = performance.now();
          m.maxGap = Math.max(m.maxGap, now - last);
          if (now - last > 250) m.stalls++;
          last = now;
          if (m.values.at(-1) !== bar.value) m.values.push(bar.value);
        }, 50);
      };
      await a.evaluate(monitor, "#send-progress");
      await b.evaluate(monitor, "#recv-progress");

      await a.locator("#send-file").click();
      const started = Date.now();
      const done = { timeout: 200_000, polling: 100 };
      await a.waitForFunction(() => {
        const bar = document.querySelector("#send-progress");
        return bar.max > 1 && bar.value === bar.max;
      }, null, done);
      await b.locator("#download:not([hidden])").waitFor({ timeout: done.timeout });
      const seconds = (Date.now() - started) / 1000;

      const stop = () => {
        clearInterval(window.monitor.timer);
        const { values, maxGap, stalls, visibility } = window.monitor;
        return { steps: values.length, maxGap: Math.round(maxGap), stalls, visibility };
      };
      const aStats = await a.evaluate(stop);
      const bStats = await b.evaluate(stop);
      const bars = await Promise.all([
        a.evaluate(() => ({ max: document.querySelector("#send-progress").max, value: document.querySelector("#send-progress").value })),
        b.evaluate(() => ({ max: document.querySelector("#recv-progress").max, value: document.querySelector("#recv-progress").value })),
      ]);
      const got = await b.evaluate(async () => {
        const link = document.querySelector("#download");
        const blob = await (await fetch(link.href)).blob();
        return { name: link.download, type: blob.type, size: blob.size, sha256: await T.sha256(await blob.arrayBuffer()) };
      });
      console.log(
        `20 MiB file: ${seconds.toFixed(1)} s (${(size / 1e6 / seconds).toFixed(1)} MB/s); ` +
          `sender bar ${aStats.steps} steps, longest event-loop stall ${aStats.maxGap} ms, ${aStats.stalls} over 250 ms (${aStats.visibility}); ` +
          `receiver bar ${bStats.steps} steps, longest stall ${bStats.maxGap} ms, ${bStats.stalls} over 250 ms (${bStats.visibility})`,
      );

      assert.deepEqual(bars, [
        { max: size, value: size },
        { max: size, value: size },
      ]);
      assert.deepEqual(got, sent, "the received file equals the sent one");
      // Honest progress: the bars moved in steps rather than jumping to the end.
      assert.ok(aStats.steps >= 5, `sender's bar moved in ${aStats.steps} steps, want at least 5`);
      assert.ok(bStats.steps >= 5, `receiver's bar moved in ${bStats.steps} steps, want at least 5`);
      // The page never froze.
      assert.ok(aStats.maxGap < 2_000, `sender's event loop stalled ${aStats.maxGap} ms, want < 2000`);
      assert.ok(bStats.maxGap < 2_000, `receiver's event loop stalled ${bStats.maxGap} ms, want < 2000`);
      assert.equal(await a.locator("#errors li").count(), 0, "no errors shown on the sender");
      assert.equal(await b.locator("#errors li").count(), 0, "no errors shown on the receiver");
    });
  });
});
