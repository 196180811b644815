// The ways a page loads the SDK: the classic script (global Peer), the ES
// module, Peer.init({wasmURL}); and how the server serves sdk.wasm.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { repoRoot, useEnv, withContext } from "./harness.mjs";

/** GETs url with the given headers: {status, headers, body: Buffer}. */
function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, signal: AbortSignal.timeout(15_000) }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** The content-hashed name under which skywasm serve serves sdk.wasm, which the skywasm.js it serves names. */
const hashedWasm = /^\/sdk\/sdk\.[\w-]{16}\.wasm$/;

/** Records the page's requests for sdk.wasm. */
function wasmRequests(page) {
  const urls = [];
  page.on("request", (req) => {
    if (new URL(req.url()).pathname.endsWith(".wasm")) urls.push(req.url());
  });
  return urls;
}

describe("loading the SDK", { timeout: 300_000 }, () => {
  const env = useEnv();

  it("classic script: a global Peer that opens", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await open("examples/");
      const requests = wasmRequests(page);
      await page.addScriptTag({ url: "/sdk/skywasm.js" });
      const got = await page.evaluate(async (key) => {
        const shape = {
          Peer: typeof Peer,
          MediaConnection: typeof Peer.MediaConnection,
          DataConnection: typeof Peer.DataConnection,
          statsBeforeLoad: Peer.debugStats(),
        };
        const peer = new Peer({ key, debug: 2 });
        const sync = { id: peer.id, open: peer.open, rooms: peer.rooms, connections: peer.connections };
        const id = await T.event(peer, "open", 20_000, "open");
        const stats = Peer.debugStats();
        return { ...shape, sync, id, peerId: peer.id, open: peer.open, stats, idIsString: typeof id === "string" };
      }, env.key);
      assert.deepEqual(
        { Peer: got.Peer, MediaConnection: got.MediaConnection, DataConnection: got.DataConnection },
        { Peer: "function", MediaConnection: "function", DataConnection: "function" },
      );
      assert.equal(got.statsBeforeLoad, null, "Peer.debugStats() is null before the wasm is loaded");
      assert.deepEqual(got.sync, { id: null, open: false, rooms: {}, connections: {} }, "a new Peer before open");
      assert.ok(got.idIsString && got.id.length > 0);
      assert.equal(got.peerId, got.id);
      assert.equal(got.open, true);
      for (const k of ["goroutines", "heapBytes", "handles"]) {
        assert.equal(typeof got.stats?.[k], "number", `Peer.debugStats().${k}: ${JSON.stringify(got.stats)}`);
      }
      assert.equal(requests.length, 1, `sdk.wasm fetched once: ${requests}`);
      assert.match(new URL(requests[0]).pathname, hashedWasm, "fetched next to the script, by its hashed name");
    });
  });

  it("ES module: import Peer from /sdk/skywasm.mjs, and it opens", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await open("examples/");
      await page.addScriptTag({
        type: "module",
        content: `
          import Peer, { Peer as NamedPeer, MediaConnection, DataConnection, EventEmitter } from "/sdk/skywasm.mjs";
          window.esm = { Peer, NamedPeer, MediaConnection, DataConnection, EventEmitter };
        `,
      });
      const got = await page.evaluate(async (key) => {
        const { Peer, NamedPeer, MediaConnection, DataConnection, EventEmitter } = await T.until(() => window.esm, 15_000, "the module");
        const peer = new Peer({ key, debug: 2 });
        const id = await T.event(peer, "open", 20_000, "open");
        return {
          sameDefault: Peer === NamedPeer,
          types: [typeof MediaConnection, typeof DataConnection, typeof EventEmitter],
          isEmitter: peer instanceof EventEmitter,
          id,
          open: peer.open,
        };
      }, env.key);
      assert.equal(got.sameDefault, true, "the default export is the named Peer");
      assert.deepEqual(got.types, ["function", "function", "function"]);
      assert.equal(got.isEmitter, true, "a Peer is an EventEmitter");
      assert.ok(got.id);
      assert.equal(got.open, true);
    });
  });

  it("Peer.init({wasmURL}) loads the wasm from that URL once, before any Peer", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await open("examples/");
      const requests = wasmRequests(page);
      await page.addScriptTag({ url: "/sdk/skywasm.js" });
      const got = await page.evaluate(async (key) => {
        const wasmURL = new URL("/sdk/sdk.wasm?loaded-by=init", location.href);
        const result = await T.deadline(Peer.init({ wasmURL }), 20_000, "Peer.init");
        const stats = Peer.debugStats();
        const peer = new Peer({ key, debug: 2 });
        await T.event(peer, "open", 20_000, "open");
        return { result: result === undefined ? "undefined" : String(result), statsAfterInit: stats !== null, open: peer.open };
      }, env.key);
      assert.deepEqual(got, { result: "undefined", statsAfterInit: true, open: true });
      // The script started fetching the module beside it as it ran; Peer.init then named another.
      assert.deepEqual(
        requests.map((u) => new URL(u).pathname + new URL(u).search).filter((u) => !hashedWasm.test(u)),
        ["/sdk/sdk.wasm?loaded-by=init"],
        "the wasm came from wasmURL, once",
      );
    });
  });

  it("a second load in the same context fetches nothing: the module and wasm_exec.js are hashed and immutable", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await open("examples/");
      const load = async () => {
        await page.addScriptTag({ url: "/sdk/skywasm.js" });
        return page.evaluate(async (key) => {
          await T.deadline(Peer.init(), 20_000, "Peer.init");
          const peer = new Peer({ key });
          await T.event(peer, "open", 20_000, "open");
          peer.destroy();
          // Same origin, so resource timing has the sizes: transferSize 0 is the cache without a request.
          return performance
            .getEntriesByType("resource")
            .filter((e) => /\/sdk\/(sdk|wasm_exec)[.\w-]*\.(wasm|js)$/.test(new URL(e.name).pathname) && !e.name.endsWith("skywasm.js"))
            .map((e) => ({ path: new URL(e.name).pathname, transferSize: e.transferSize, bodySize: e.decodedBodySize }));
        }, env.key);
      };
      const first = await load();
      await page.goto(new URL("examples/", env.url).href);
      const second = await load();
      const wasmOf = (entries) => entries.find((e) => e.path.endsWith(".wasm"));
      assert.match(wasmOf(first)?.path ?? "", hashedWasm, `the first load's module: ${JSON.stringify(first)}`);
      assert.ok(wasmOf(first).transferSize > 0, "the first load fetched the module");
      assert.equal(wasmOf(second)?.path, wasmOf(first).path, "the same hashed URL again");
      for (const e of second) {
        assert.match(e.path, /\.[\w-]{16}\.(wasm|js)$/, `${e.path} is named by its hash`);
        assert.equal(e.transferSize, 0, `${e.path} came from the cache without a request: ${JSON.stringify(second)}`);
        assert.ok(e.bodySize > 0, `${e.path} has its body`);
      }
      assert.ok(second.some((e) => e.path.endsWith(".js")), `wasm_exec.js was loaded too: ${JSON.stringify(second)}`);

      const wasm = await get(new URL(wasmOf(first).path, env.url).href, { "Accept-Encoding": "br" });
      assert.equal(wasm.status, 200);
      assert.equal(wasm.headers["cache-control"], "public, max-age=31536000, immutable");
      assert.equal(wasm.headers["content-type"], "application/wasm");
      const stale = await get(new URL("sdk/sdk.AAAAAAAAAAAAAAAA.wasm", env.url).href);
      assert.equal(stale.status, 404, "a hash that is not the current one is not found");
    });
  });

  it("Peer.init rejects when the wasm cannot be fetched", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await open("examples/");
      await page.addScriptTag({ url: "/sdk/skywasm.js" });
      const got = await page.evaluate(async () => {
        try {
          await T.deadline(Peer.init({ wasmURL: "/sdk/no-such.wasm" }), 15_000, "Peer.init");
          return "resolved";
        } catch (err) {
          return String(err?.message);
        }
      });
      assert.notEqual(got, "resolved");
      assert.doesNotMatch(got, /^timed out/, "Peer.init settles");
    });
  });

  it("serves sdk.wasm as application/wasm, brotli-compressed when asked", { timeout: 30_000 }, async () => {
    const file = readFileSync(path.join(repoRoot, "js", "sdk.wasm"));
    const url = new URL("sdk/sdk.wasm", env.url).href;

    const br = await get(url, { "Accept-Encoding": "br, gzip" });
    assert.equal(br.status, 200);
    assert.equal(br.headers["content-type"], "application/wasm");
    assert.equal(br.headers["content-encoding"], "br");
    assert.match(br.headers.vary ?? "", /accept-encoding/i, "Vary: Accept-Encoding");
    assert.ok(zlib.brotliDecompressSync(br.body).equals(file), "the brotli body is js/sdk.wasm");
    console.log(`sdk.wasm: ${file.length} bytes, ${br.body.length} with brotli`);

    const plain = await get(url);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers["content-type"], "application/wasm");
    assert.equal(plain.headers["content-encoding"], undefined, "no Content-Encoding unless asked");
    assert.ok(plain.body.equals(file), "the plain body is js/sdk.wasm");

    const exec = await get(new URL("sdk/wasm_exec.js", env.url).href);
    assert.equal(exec.status, 200);
    assert.match(exec.headers["content-type"] ?? "", /javascript/);
  });

  it("the page's fetch of sdk.wasm streams: application/wasm reaches the browser", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await open("examples/");
      const got = await page.evaluate(async () => {
        const res = await fetch("/sdk/sdk.wasm");
        return { type: res.headers.get("content-type"), ok: WebAssembly.validate(await res.arrayBuffer()) };
      });
      assert.deepEqual(got, { type: "application/wasm", ok: true });
    });
  });
});
