// A skywasm cluster in the browser: three `bin/skywasm serve -nats-embed …`
// processes on 127.0.0.1, and two pages, each loading the SDK from another
// node, that call each other. A page that leaves dispatching on asks its
// node's /v1/dispatch before it connects; one with `dispatch: false` does
// not.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { launchBrowser, repoRoot, requireBuilt, sleep, startProcess, withContext } from "./harness.mjs";

/** n free 127.0.0.1 ports. */
async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
    servers.push(s);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Polls f (async) every 100 ms until it returns something truthy, for at most ms. */
async function until(f, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The node URLs a node's dispatcher lists for key. */
async function dispatched(url, key) {
  const resp = await fetch(new URL(`v1/dispatch?key=${key}`, url));
  if (!resp.ok) return [];
  return (await resp.json()).nodes.map((n) => n.url);
}

/** Starts three clustered nodes of one app; env gets {nodes: [{url, stop, log}], key, dir}. */
async function startCluster(env) {
  requireBuilt();
  env.key = randomUUID();
  env.dir = await mkdtemp(path.join(os.tmpdir(), "skywasm-cluster-js-"));
  const config = path.join(env.dir, "skywasm.yaml");
  await writeFile(config, `apps:\n  - key: ${env.key}\n    secret: "cluster test secret"\n`);
  const [httpPorts, natsPorts] = [await freePorts(3), await freePorts(3)];
  const routes = natsPorts.map((p) => `nats-route://127.0.0.1:${p}`).join(",");
  env.nodes = await Promise.all(
    httpPorts.map(async (port, i) => {
      const { value, stop, log } = await startProcess(
        `node ${i}`,
        path.join(repoRoot, "bin", "skywasm"),
        ["serve", "-config", config, "-addr", `127.0.0.1:${port}`, "-node", `js${i}`, "-static", repoRoot,
          "-turn-addr", "off", "-nats-embed", `127.0.0.1:${natsPorts[i]}`, "-nats-routes", routes],
        {
          timeout: 60_000,
          killAfter: 8_000,
          keep: 300,
          ready: (line, stream) => (stream === "stdout" && /^skywasm: listening on (\S+)/.exec(line)?.[1]) || undefined,
        },
      );
      return { url: value.endsWith("/") ? value : `${value}/`, stop, log };
    }),
  );
  for (const node of env.nodes) {
    await until(async () => (await fetch(new URL("healthz", node.url))).ok, 60_000, `${node.url}healthz`);
    await until(async () => (await dispatched(node.url, env.key)).length === 3, 30_000, `${node.url}'s dispatcher to list three nodes`);
  }
}

/** Opens a page of node's origin with the SDK loaded from that node and the cluster's key. */
async function openNodePage(open, node, key) {
  const page = await open(new URL("examples/", node.url).href);
  await page.addScriptTag({ url: "/sdk/skywasm.js" });
  await page.evaluate((k) => (window.__SKYWAY_KEY__ = k), key);
  return page;
}

/** The page's requests to /v1/dispatch so far. */
const dispatchRequests = (page) =>
  page.evaluate(() => performance.getEntriesByType("resource").filter((e) => e.name.includes("/v1/dispatch")).length);

describe("a cluster of three nodes", { timeout: 300_000 }, () => {
  const env = { contextOptions: {}, cleanups: [] };
  before(
    async () => {
      await startCluster(env);
      env.url = env.nodes[0].url;
      // withContext prints the end of "the server's" log when a test fails.
      env.server = {
        get log() {
          return env.nodes.flatMap((n, i) => n.log.map((l) => `node ${i}: ${l}`));
        },
      };
      env.browser = await launchBrowser();
    },
    { timeout: 120_000 },
  );
  after(
    async () => {
      await env.browser?.close().catch(() => {});
      await Promise.all((env.nodes ?? []).map((n) => n.stop()));
      if (env.dir) await rm(env.dir, { recursive: true, force: true });
    },
    { timeout: 30_000 },
  );

  it("two pages loading the SDK from different nodes call each other", { timeout: 90_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const a = await openNodePage(open, env.nodes[0], env.key);
      const b = await openNodePage(open, env.nodes[1], env.key);
      // Each stays on the node it loaded the SDK from.
      await a.evaluate(async () => (window.peer = await T.openPeer({ dispatch: false })));
      await b.evaluate(async () => (window.peer = await T.openPeer({ dispatch: false })));
      assert.equal(await dispatchRequests(a), 0, "dispatch: false asks no dispatcher");
      const bId = await b.evaluate(() => window.peer.id);

      const started = Date.now();
      const answered = b.evaluate(async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const call = await T.event(window.peer, "call", 20_000, "the call event");
        call.answer(stream);
        window.call = call;
        await T.event(call, "stream", 20_000, "the callee's stream event");
      });
      await a.evaluate(async (id) => {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        window.call = window.peer.call(id, stream);
        await T.event(window.call, "stream", 20_000, "the caller's stream event");
      }, bId);
      await answered;
      // Media arrives on both sides, across the two nodes.
      for (const [who, page] of [["caller", a], ["callee", b]]) {
        const packets = await page.evaluate(() =>
          T.until(
            async () => {
              let n = 0;
              (await window.call.getPeerConnection().getStats()).forEach((s) => {
                if (s.type === "inbound-rtp" && s.kind === "video") n += s.packetsReceived;
              });
              return n > 20 && n;
            },
            20_000,
            "inbound video packets",
          ),
        );
        assert.ok(packets > 20, `${who}: ${packets} video packets received`);
      }
      console.log(`pages on ${env.nodes[0].url} and ${env.nodes[1].url}: media both ways ${Date.now() - started} ms after the call`);
    });
  });

  it("a page on another origin asks the SDK's node which node to use", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      // The page is node 2's, the SDK node 0's: node 0's dispatcher answers a cross-origin fetch.
      const page = await open(new URL("examples/", env.nodes[2].url).href);
      await page.addScriptTag({ url: new URL("sdk/skywasm.js", env.nodes[0].url).href });
      await page.evaluate((k) => (window.__SKYWAY_KEY__ = k), env.key);
      const id = await page.evaluate(async () => (window.peer = await T.openPeer()).id);
      assert.ok(id, "the peer opened");
      const asked = await page.evaluate(() =>
        performance
          .getEntriesByType("resource")
          .filter((e) => e.name.includes("/v1/dispatch"))
          .map((e) => ({ url: e.name, status: e.responseStatus })),
      );
      assert.ok(asked.length >= 1, "the page asked /v1/dispatch");
      assert.equal(asked[0].status, 200, `the dispatcher answered the page: ${JSON.stringify(asked)}`);
    });
  });
});
