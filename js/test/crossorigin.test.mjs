// Pages on their own web site: a separate local web server (a different
// origin from `skywasm serve`) serves the pages, and only their script tags
// point at the skywasm server, as a SkyWay page's pointed at SkyWay's CDN.
// With neither host nor port the SDK connects to the origin it was loaded
// from. The pages open a Peer (classic script and module), call, connect,
// and join mesh and SFU rooms; the repository's examples, served the same
// way with their script tags changed, open and exchange data.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot, useEnv, withContext } from "./harness.mjs";

/**
 * Starts the page's own web server on 127.0.0.1: /classic.html and
 * /module.html load the SDK from sky (the skywasm server's URL); /examples/…
 * serves the repository's examples with their SDK and key script tags
 * pointed at sky. Resolves to {url, close}.
 */
async function startSite(sky) {
  const base = sky.replace(/\/$/, "");
  const key = `<script src="${base}/examples/_shared/key.js"></script>`;
  const pages = {
    "/classic.html": `<!doctype html><meta charset="utf-8"><title>classic</title>
<script src="${base}/sdk/skywasm.js"></script>${key}`,
    "/module.html": `<!doctype html><meta charset="utf-8"><title>module</title>${key}
<script type="module">import Peer from "${base}/sdk/skywasm.mjs"; window.Peer = Peer; window.loaded = true;</script>`,
  };
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://site");
    let body = pages[url.pathname];
    if (body === undefined && url.pathname.startsWith("/examples/")) {
      let file = path.join(repoRoot, path.normalize(url.pathname));
      if (file.endsWith("/")) file += "index.html";
      if (!file.startsWith(path.join(repoRoot, "examples"))) return res.writeHead(403).end();
      try {
        body = await readFile(file, "utf8");
      } catch {
        return res.writeHead(404).end();
      }
      // What a user changes: the script tags, nothing else.
      body = body
        .replace('src="/sdk/skywasm.js"', `src="${base}/sdk/skywasm.js"`)
        .replace('src="../_shared/key.js"', `src="${base}/examples/_shared/key.js"`);
    }
    if (body === undefined) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[path.extname(url.pathname)] ?? "text/html" }).end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

describe("pages served by their own web server", { timeout: 600_000 }, () => {
  const env = useEnv();
  let site;
  before(async () => {
    site = await startSite(env.url);
  });
  after(async () => site?.close());

  /** Opens the site's page at where, whose SDK comes from the skywasm server. */
  const onSite = (open, where) => open(new URL(where, site.url).href);

  it("a classic script from the skywasm server opens a Peer there, not at the page's origin", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await onSite(open, "classic.html");
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        return { id: peer.id, origin: location.origin, host: peer.options.dispatcherHost, port: peer.options.dispatcherPort };
      });
      const sky = new URL(env.url);
      assert.notEqual(got.origin, sky.origin, "the page is on another origin");
      assert.ok(got.id, "open");
      assert.deepEqual([got.host, got.port], [sky.hostname, Number(sky.port)], "the default server is the script's");
    });
  });

  it("the module from the skywasm server opens a Peer there", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await onSite(open, "module.html");
      const id = await page.evaluate(async () => {
        await T.until(() => window.loaded, 10_000, "the module");
        return (await T.openPeer()).id;
      });
      assert.ok(id);
    });
  });

  it("call and connect between two such pages", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const [a, b] = [await onSite(open, "classic.html"), await onSite(open, "classic.html")];
      const bId = await b.evaluate(async () => {
        const peer = await T.openPeer();
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        peer.on("call", (call) => call.answer(stream));
        peer.on("connection", (conn) => conn.on("data", (d) => conn.send(`echo ${d}`)));
        return peer.id;
      });
      const got = await a.evaluate(async (bId) => {
        const peer = await T.openPeer();
        const conn = peer.connect(bId);
        await T.event(conn, "open", 15_000, "the data connection's open");
        const echo = T.event(conn, "data", 10_000, "the echo");
        conn.send("hi");
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const call = peer.call(bId, stream);
        const remote = await T.event(call, "stream", 20_000, "the call's stream");
        return { echo: await echo, tracks: remote.getTracks().length };
      }, bId);
      assert.deepEqual(got, { echo: "echo hi", tracks: 2 });
    });
  });

  for (const mode of ["mesh", "sfu"]) {
    it(`two such pages in a ${mode} room get each other's streams`, { timeout: 60_000 }, async () => {
      await withContext(env, async ({ open }) => {
        const pages = [await onSite(open, "classic.html"), await onSite(open, "classic.html")];
        const name = `site-${mode}-${Date.now()}`;
        const join = (page) =>
          page.evaluate(
            async ({ name, mode }) => {
              const peer = await T.openPeer();
              const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
              const room = peer.joinRoom(name, { mode, stream });
              window.got = T.event(room, "stream", 30_000, "the other member's stream").then((s) => s.peerId);
              await T.event(room, "open", 10_000, "the room's open");
              return peer.id;
            },
            { name, mode },
          );
        const ids = [await join(pages[0]), await join(pages[1])];
        const got = await Promise.all(pages.map((page) => page.evaluate(() => window.got)));
        assert.deepEqual(got, [ids[1], ids[0]]);
      });
    });
  }

  it("the repository's examples, with only their script tags changed, open and exchange data", { timeout: 90_000 }, async () => {
    await withContext(env, async ({ open }) => {
      for (const example of ["p2p-media", "room"]) {
        const page = await onSite(open, `examples/${example}/`);
        await page.locator("#state[data-state=idle]").waitFor();
      }
      const [a, b] = [await onSite(open, "examples/p2p-data/"), await onSite(open, "examples/p2p-data/")];
      for (const page of [a, b]) await page.locator("#state[data-state=idle]").waitFor();
      const bId = (await b.locator("#my-id").textContent()).trim();
      await a.locator("#remote-id").fill(bId);
      await a.locator("#connect").click();
      await Promise.all([a, b].map((page) => page.locator("#state[data-state=connected]").waitFor()));
      await a.locator("#message").fill("hello across origins");
      await a.locator("#send").click();
      await b.locator("#messages li.theirs", { hasText: "hello across origins" }).waitFor();
    });
  });
});
