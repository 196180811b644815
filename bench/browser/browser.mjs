#!/usr/bin/env node
// browser.mjs measures skywasm in headless Chromium beside PeerJS (npm
// `peerjs` against peerjs-server, npm `peer`) and the browser's own
// RTCPeerConnection, and writes the figures as one section of the benchmark
// report (bench/bench.go: {title, command, notes, rows}):
//
//   - data-channel throughput between two pages: skywasm's DataConnection
//     (binary, none) against PeerJS (default, raw) and a bare data channel;
//   - new Peer() to open, wasm load included, with a cold and a warm cache,
//     and after Peer.init(); skywasm's start-up in stages (fetch, compile,
//     instantiate, Go's start, the signaling handshake, open's delivery);
//   - whether Chromium's wasm code cache served the module (from a trace),
//     and Go's package init times (GODEBUG=inittrace=1);
//   - peer.call() to the caller's stream event, p50 and p95, and its phases
//     (offer, the callee, the server's relaying, the answer's handling);
//   - each page's main-thread CPU per MiB moved (DevTools thread ticks).
//
// Every comparison alternates the two sides within the run, reversing the
// order each round, and reports medians, since these machines are noisy.
//
// Usage (in a loopback-only network namespace, after `make build`):
//
//	scripts/netns.sh node bench/browser/browser.mjs --json FILE [--smoke] [--rounds N] [--calls N] [--parts LIST] [--profile DIR]
//
// --smoke moves 1 MiB, places 2 calls and runs 1 round: every row is still
// filled, in seconds rather than minutes (js/test/bench.test.mjs runs it).
// --calls N places N timed calls per library instead of 20 (more calls, a
// steadier median while working on the call path).
// --parts runs only the listed parts (throughput, open, startup, calls), to
// measure one thing while working on it; the others' rows stay empty.
// --profile writes the sending and receiving pages' CPU profiles of the
// first round's transfers to DIR (open them in DevTools' Performance panel),
// and the callers' and callees' over all the timed calls (which the profiler
// slows: those times are not for a report).
//
// The processes: `skywasm serve` (dev mode, through js/test/harness.mjs),
// peerjs-server (bench/browser/peerserver.mjs) and a static server in this
// process for the pages (bench/browser/page.html, page.js) and PeerJS's
// bundle. The pages load skywasm.js from `skywasm serve`, as a site using
// skywasm would.

import { createHash } from "node:crypto";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { launchBrowser, repoRoot, requireBuilt, sleep, startProcess, startServer, withContext } from "../../js/test/harness.mjs";
import { median, percentile } from "./stats.mjs";

const benchDir = path.dirname(fileURLToPath(import.meta.url));

const usage = "usage: node bench/browser/browser.mjs --json FILE [--smoke] [--rounds N] [--calls N] [--parts throughput,open,startup,calls] [--profile DIR]";

/** What one run does: sizes and counts for a full run and for --smoke. */
function plan(args) {
  const smoke = args.smoke;
  return {
    smoke,
    rounds: smoke ? 1 : args.rounds,
    // A real application sends a file in slices of about this size.
    chunk: 64 << 10,
    total: smoke ? 1 << 20 : 64 << 20,
    // Each contender moves this much, untimed, before the rounds: the first
    // transfer on a connection also pays for the JIT and SCTP's slow start.
    warmUp: smoke ? 64 << 10 : 1 << 20,
    // Fresh browser contexts per library for the open times: each gives
    // one cold and one warm sample.
    openSamples: smoke ? 1 : 2 * args.rounds,
    calls: args.calls ?? (smoke ? 2 : 20),
    // A directory for the sending and receiving pages' CPU profiles of the first round's transfers.
    profile: args.profile,
  };
}

/** Parses argv (without node and the script); throws a usage error. */
export function parseArgs(argv) {
  const args = { json: null, smoke: false, rounds: 3, calls: null, parts: null, profile: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value\n${usage}`);
      return argv[++i];
    };
    if (arg === "--json") args.json = value();
    else if (arg === "--smoke") args.smoke = true;
    else if (arg === "--parts") args.parts = value().split(",");
    else if (arg === "--profile") args.profile = value();
    else if (arg === "--rounds") {
      args.rounds = Number(value());
      if (!Number.isInteger(args.rounds) || args.rounds < 1) throw new Error(`--rounds must be a positive integer\n${usage}`);
    } else if (arg === "--calls") {
      args.calls = Number(value());
      if (!Number.isInteger(args.calls) || args.calls < 1) throw new Error(`--calls must be a positive integer\n${usage}`);
    } else throw new Error(`unknown argument ${arg}\n${usage}`);
  }
  if (!args.json) throw new Error(`--json FILE is required\n${usage}`);
  return args;
}

/**
 * Serves the benchmark's pages and PeerJS's bundle on a free 127.0.0.1 port,
 * with the caching skywasm serve gives the SDK (no-cache with an ETag), so
 * that a warm page load revalidates both libraries the same way.
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
async function startStatic() {
  const files = new Map(
    [
      ["/bench/page.html", path.join(benchDir, "page.html"), "text/html; charset=utf-8"],
      ["/bench/page.js", path.join(benchDir, "page.js"), "text/javascript; charset=utf-8"],
      [
        "/peerjs/peerjs.min.js",
        path.join(repoRoot, "node_modules", "peerjs", "dist", "peerjs.min.js"),
        "text/javascript; charset=utf-8",
      ],
    ].map(([route, file, type]) => {
      let body;
      try {
        body = readFileSync(file);
      } catch (err) {
        throw new Error(`cannot read ${path.relative(repoRoot, file)} (npm install?): ${err.message}`);
      }
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 24)}"`;
      return [route, { body, type, etag }];
    }),
  );
  const server = http.createServer((req, res) => {
    const file = files.get(new URL(req.url, "http://localhost").pathname);
    if (!file || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    const headers = { "Content-Type": file.type, "Cache-Control": "no-cache", ETag: file.etag };
    if (req.headers["if-none-match"] === file.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": file.body.length });
    res.end(req.method === "HEAD" ? undefined : file.body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Starts bench/browser/peerserver.mjs and resolves with its port once it listens.
 * @returns {Promise<{port: number, stop: () => Promise<void>}>}
 */
async function startPeerServer({ timeout = 15_000 } = {}) {
  const { value: port, stop } = await startProcess("peerjs-server", process.execPath, [path.join(benchDir, "peerserver.mjs")], {
    timeout,
    ready(line, stream) {
      const m = stream === "stdout" && /^peerserver: listening on 127\.0\.0\.1:(\d+)$/.exec(line);
      return m ? Number(m[1]) : undefined;
    },
  });
  return { port, stop };
}

/**
 * Runs the benchmark and returns its section. A part that fails leaves its
 * rows' figures null and says why in the notes; failed tells whether any did.
 */
export async function run(args) {
  requireBuilt();
  const p = plan(args);
  const wallStart = performance.now();
  const peerjsVersion = JSON.parse(readFileSync(path.join(repoRoot, "node_modules", "peerjs", "package.json"), "utf8")).version;
  const peerVersion = JSON.parse(readFileSync(path.join(repoRoot, "node_modules", "peer", "package.json"), "utf8")).version;

  const stops = [];
  const env = {};
  try {
    env.server = await startServer();
    stops.push(() => env.server.stop());
    env.url = env.server.url;
    env.key = env.server.key;
    const peerServer = await startPeerServer();
    stops.push(() => peerServer.stop());
    const site = await startStatic();
    stops.push(() => site.close());
    env.browser = await launchBrowser();
    stops.push(() => env.browser.close());

    const skyPort = Number(new URL(env.url).port);
    const libs = {
      skywasm: {
        url: `${site.url}bench/page.html?lib=skywasm&sdk=${encodeURIComponent(new URL("sdk/", env.url).href)}`,
        peer: { key: env.key, host: "127.0.0.1", port: skyPort },
      },
      peerjs: {
        url: `${site.url}bench/page.html?lib=peerjs`,
        peer: { key: "peerjs", host: "127.0.0.1", port: peerServer.port },
      },
      raw: { url: `${site.url}bench/page.html?lib=raw` },
    };
    /** Opens lib's page in a withContext and waits for its library to load. */
    const openPage = async (open, lib) => {
      const page = await open(libs[lib].url);
      await page.evaluate(() => B.ready);
      return page;
    };
    /** Opens lib's page and its peer; resolves with {page, id}. */
    const openPeerPage = async (open, lib) => {
      const page = await openPage(open, lib);
      const { id } = await page.evaluate((o) => B.openPeer(o), libs[lib].peer);
      return { page, id };
    };

    const parts = [
      { name: "throughput", fn: () => throughput(env, p, openPage, openPeerPage) },
      { name: "open", fn: () => openTimes(env, p, libs, openPage) },
      { name: "startup", fn: () => startupProbe(env, libs, openPage) },
      { name: "calls", fn: () => callTimes(env, p, openPeerPage) },
    ].filter((part) => !args.parts || args.parts.includes(part.name));
    const results = {};
    const failures = [];
    for (const part of parts) {
      const started = performance.now();
      try {
        results[part.name] = await part.fn();
      } catch (err) {
        // The notes get the first line; the stack goes to stderr.
        failures.push(`${part.name} failed: ${String(err?.message ?? err).split("\n")[0]}`);
        console.error(`browser bench: ${part.name} failed: ${err.stack ?? err}`);
      }
      console.error(`browser bench: ${part.name} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }

    const chromium = env.browser.version();
    const wall = (performance.now() - wallStart) / 1000;
    const section = {
      title: "In the browser",
      command: commandLine(),
      notes: [
        `Headless Chromium ${chromium} with scripts/chromium's flags, on ${os.cpus().length} cores; ` +
          `PeerJS ${peerjsVersion} against peerjs-server (npm peer ${peerVersion}); skywasm serve in dev mode; all on 127.0.0.1.`,
        `${p.rounds} round${p.rounds === 1 ? "" : "s"}; each comparison alternates skywasm and the other side within the run, ` +
          "reversing the order every round; figures are medians unless the row says otherwise.",
        `Throughput: ${sizeLabel(p.total)} as ${p.total / p.chunk} ArrayBuffers of ${p.chunk >> 10} KiB between two pages, ` +
          "timed from the first send to the receiver holding every byte (MB = 10^6 bytes), after one untimed warm-up " +
          `transfer of ${sizeLabel(p.warmUp)} per contender. skywasm awaits each send(); PeerJS and the bare channel wait for ` +
          "bufferedamountlow when more than 1 MiB is queued, down to 256 KiB, the marks skywasm's send() uses inside. " +
          "Every channel is reliable and ordered: PeerJS's connections are opened with reliable: true, since its default " +
          "channel is unordered and delivers a file's slices out of order. The bare channel also sends each slice as four " +
          "messages of 16 KiB, the size of skywasm's binary chunks (and about PeerJS's). Main thread per MiB: the CPU time " +
          "of each page's main-thread tasks during the transfer (DevTools protocol, thread ticks), which the machine's load " +
          "moves far less than the wall time.",
        "Open: new Peer() to its open event, the library's script already loaded; cold is a fresh browser context " +
          "(empty cache), warm the same page loaded again in that context (the pages and PeerJS answer no-cache with an " +
          "ETag, so their bytes come from the cache after a 304; skywasm.js likewise, and it names sdk.wasm and " +
          "wasm_exec.js by content-hashed immutable URLs, which come from the cache without a request). " +
          "After Peer.init(): a third load in that context calls Peer.init() and waits for it before new Peer().",
        "Start-up stages: each counts only its time after new Peer(); what skywasm.js did before it (it starts " +
          "fetching and compiling sdk.wasm as it is evaluated) cost the Peer nothing. Compile runs from the fetch's " +
          "start, since streaming compiles as the bytes arrive. Go's start is the runtime's start and package init, " +
          "to the bridge's ready; the handshake runs from there to the server's first message on the signaling " +
          "WebSocket; delivery from that message to the page's open listener.",
        `Calls: ${p.calls} per library, alternating, after one untimed warm-up call each; Chromium's fake camera and ` +
          "microphone; the callee answers with its own stream; both sides hang up between calls. The phases come from " +
          "wrappers of the page's WebSocket and RTCPeerConnection, installed before either library loads, on both pages' " +
          "shared clock. " +
          "No ICE servers on either side (PeerJS given config.iceServers [], skywasm's default).",
        `Wall time ${wall.toFixed(0)} s.`,
        ...failures,
      ],
      rows: rows(p, results, peerjsVersion),
    };
    return { section, failed: failures.length > 0 };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

/**
 * Part 1: one context with three pairs of pages (skywasm, PeerJS, bare),
 * each pair connected once; then per round a transfer per contender.
 * @returns {Promise<Record<string, number[]>>} MB/s samples by contender
 */
async function throughput(env, p, openPage, openPeerPage) {
  const samples = { skyBinary: [], skyNone: [], pjBinary: [], pjRaw: [], raw: [], raw16: [], cpu: {} };
  await withContext(env, async ({ context, open }) => {
    const pair = async (lib, connections) => {
      const a = await openPeerPage(open, lib);
      const b = await openPeerPage(open, lib);
      for (const [serialization, label] of connections) {
        const got = await a.page.evaluate(([id, s, l]) => B.connect(id, s, l), [b.id, serialization, label]);
        if (got !== serialization) throw new Error(`${lib}: connect(${serialization}) gave a ${got} connection`);
        await b.page.evaluate((l) => B.accepted(l), label);
      }
      return [a.page, b.page];
    };
    const [skyA, skyB] = await pair("skywasm", [
      ["binary", "binary"],
      ["none", "none"],
    ]);
    // PeerJS's default serialization is "binary".
    const [pjA, pjB] = await pair("peerjs", [
      ["binary", "binary"],
      ["raw", "raw"],
    ]);
    const rawA = await openPage(open, "raw");
    const rawB = await openPage(open, "raw");
    const offer = await rawA.evaluate(() => B.rawOffer());
    const answer = await rawB.evaluate((o) => B.rawAnswer(o), offer);
    await rawA.evaluate((a) => B.rawAccept(a), answer);
    for (const page of [rawA, rawB]) await page.evaluate(() => Promise.all([B.accepted("raw"), B.accepted("raw16")]));

    const contenders = [
      { key: "skyBinary", from: skyA, to: skyB, label: "binary" },
      { key: "pjBinary", from: pjA, to: pjB, label: "binary" },
      { key: "skyNone", from: skyA, to: skyB, label: "none" },
      { key: "pjRaw", from: pjA, to: pjB, label: "raw" },
      { key: "raw", from: rawA, to: rawB, label: "raw" },
      { key: "raw16", from: rawA, to: rawB, label: "raw16" },
    ];
    const warmUp = p.warmUp;
    for (const page of [skyA, pjA, rawA]) await page.evaluate(([t, c]) => B.prepare(t, c), [warmUp, p.chunk]);
    for (const c of contenders) await transfer(c, warmUp);
    for (const page of [skyA, pjA, rawA]) await page.evaluate(([t, c]) => B.prepare(t, c), [p.total, p.chunk]);
    for (const c of contenders) {
      c.cpu = await Promise.all([mainThread(context, c.from), mainThread(context, c.to)]);
      samples.cpu[c.key] = { send: [], receive: [] };
    }
    for (let round = 0; round < p.rounds; round++) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        const before = await Promise.all(c.cpu.map((m) => m.busy()));
        const profiling = p.profile && round === 0 ? await Promise.all(c.cpu.map((m) => m.profile())) : null;
        const mbps = await transfer(c, p.total);
        const after = await Promise.all(c.cpu.map((m) => m.busy()));
        if (profiling) {
          for (const [i, side] of ["send", "receive"].entries()) {
            const file = path.join(p.profile, `${c.key}-${side}.cpuprofile`);
            writeFileSync(file, JSON.stringify(await profiling[i]()));
            console.error(`browser bench: wrote ${file}`);
          }
        }
        samples[c.key].push(mbps);
        // Main-thread CPU time per MiB moved: the library's own work, which the machine's load hardly changes.
        const perMiB = (i) => ((after[i] - before[i]) * 1000) / (p.total / (1 << 20));
        samples.cpu[c.key].send.push(perMiB(0));
        samples.cpu[c.key].receive.push(perMiB(1));
        console.error(
          `browser bench: round ${round + 1} ${c.key}: ${mbps.toFixed(1)} MB/s; main thread ` +
            `${perMiB(0).toFixed(1)} ms/MiB sending, ${perMiB(1).toFixed(1)} ms/MiB receiving`,
        );
      }
    }
  });
  return samples;
}

/**
 * The main thread of page's renderer through the DevTools protocol: busy() is the CPU seconds it has spent in
 * tasks so far (Performance.getMetrics' TaskDuration, counted in thread time: the work of the page's scripts, the
 * library's included, which the machine's load hardly changes, unlike the wall time); profile() starts the
 * sampling profiler and returns the function that stops it and gives the profile.
 */
async function mainThread(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable", { timeDomain: "threadTicks" });
  return {
    async busy() {
      const { metrics } = await cdp.send("Performance.getMetrics");
      return metrics.find((m) => m.name === "TaskDuration").value;
    },
    async profile() {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
      return async () => (await cdp.send("Profiler.stop")).profile;
    },
  };
}

/** Moves total bytes (the sender's prepared chunks) from one page to another; resolves with MB/s. */
async function transfer({ key, from, to, label }, total) {
  await to.evaluate(([t, sliced]) => B.expect(t, sliced), [total, label === "raw16"]);
  // Slow enough to fail on purpose: 1 MB/s.
  const limit = Math.max(30_000, total / 1e3);
  const [sent, got] = await Promise.all([
    from.evaluate((l) => B.send(l), label),
    to.evaluate((ms) => B.received(ms), limit),
  ]);
  if (got.error) throw new Error(`${key}: ${got.error}`);
  if (got.bytes !== total) throw new Error(`${key}: received ${got.bytes} bytes, want ${total}`);
  const seconds = (got.endAt - sent.startAt) / 1000;
  if (!(seconds > 0)) throw new Error(`${key}: the transfer ended ${seconds} s after it began`);
  return total / 1e6 / seconds;
}

/**
 * Part 2: per sample and library a fresh context; new Peer() to open on the
 * first load (cold), then again on a second load of the page (warm). For
 * skywasm it also records how many bytes of sdk.wasm's body crossed the
 * network on each load, which shows whether the warm load used the cache.
 * @returns {Promise<{skywasm: {cold: number[], warm: number[]}, peerjs: {cold: number[], warm: number[]}, wasmBytes: {cold: number[], warm: number[]}}>}
 */
async function openTimes(env, p, libs, openPage) {
  const out = {
    skywasm: { cold: [], warm: [], init: [] },
    peerjs: { cold: [], warm: [] },
    wasmBytes: { cold: [], warm: [] },
    stages: { cold: [], warm: [] },
  };
  for (let i = 0; i < p.openSamples; i++) {
    const order = i % 2 === 0 ? ["skywasm", "peerjs"] : ["peerjs", "skywasm"];
    for (const lib of order) {
      await withContext(env, async ({ context, open }) => {
        // sdk.wasm's requests by page load (0 cold, 1 warm, 2 after Peer.init()): the script starts the fetch as
        // it loads, so the listener is the context's, there before the page. A load that took sdk.wasm from the
        // cache without asking made none.
        let load = 0;
        const wasm = [[], [], []];
        context.on("request", (req) => {
          if (/\/sdk(\.[\w-]+)?\.wasm$/.test(new URL(req.url()).pathname)) {
            wasm[load].push(req.response().then(() => req.sizes()).then((s) => Math.max(0, s.responseBodySize)));
          }
        });
        const page = await openPage(open, lib);
        const cold = await page.evaluate((o) => B.openPeer(o), libs[lib].peer);
        out[lib].cold.push(cold.ms);
        load = 1;
        await page.goto(libs[lib].url);
        await page.evaluate(() => B.ready);
        const warm = await page.evaluate((o) => B.openPeer(o), libs[lib].peer);
        out[lib].warm.push(warm.ms);
        if (lib === "skywasm") {
          out.stages.cold.push(cold.stages);
          out.stages.warm.push(warm.stages);
          load = 2;
          await page.goto(libs[lib].url);
          await page.evaluate(() => B.ready);
          await page.evaluate(() => B.init());
          const init = await page.evaluate((o) => B.openPeer(o), libs[lib].peer);
          out[lib].init.push(init.ms);
          console.error(`browser bench: open skywasm after Peer.init(): ${init.ms.toFixed(0)} ms`);
          if (wasm[0].length < 1) throw new Error("sdk.wasm was never fetched");
          const bytes = async (reqs) => (await Promise.all(reqs)).reduce((a, b) => a + b, 0);
          out.wasmBytes.cold.push(await bytes(wasm[0]));
          out.wasmBytes.warm.push(await bytes(wasm[1]));
          console.error(`browser bench: stages cold ${JSON.stringify(cold.stages)}`);
          console.error(`browser bench: stages warm ${JSON.stringify(warm.stages)}`);
        }
        console.error(`browser bench: open ${lib}: cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms`);
      });
    }
  }
  return out;
}

/**
 * Part 2b: skywasm's start-up seen from inside, in one fresh context: three
 * loads of the page, each opening a Peer under a Chromium trace that says
 * whether V8 compiled sdk.wasm or took it from one of its caches; then one
 * more load with GODEBUG=inittrace=1 (Peer.init({env})), whose lines give
 * each Go package's init time. Kept apart from the open times: tracing and
 * the trace's console lines cost time themselves.
 * @returns {Promise<{loads: {hit: boolean, compiled: boolean, cached: boolean, invalid: boolean}[], init: {total: number, top: [string, number][]}}>}
 */
async function startupProbe(env, libs, openPage) {
  const out = { loads: [], init: null };
  await withContext(env, async ({ open }) => {
    const page = await open(libs.skywasm.url);
    for (let i = 0; i < 3; i++) {
      await env.browser.startTracing(page, { categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.wasm"] });
      let trace;
      try {
        await page.goto(libs.skywasm.url);
        await page.evaluate(() => B.ready);
        await page.evaluate((o) => B.openPeer(o), libs.skywasm.peer);
        // V8 writes the cache after its optimising compiler has produced enough code: give it a moment.
        await sleep(i === 0 ? 3_000 : 500);
      } finally {
        trace = JSON.parse((await env.browser.stopTracing()).toString("utf8"));
      }
      const names = new Set((trace.traceEvents ?? trace).map((e) => e.name).filter((n) => n?.startsWith("v8.wasm.")));
      const load = {
        // V8 keeps compiled modules in memory per renderer process, keyed by the bytes (a reload of the page
        // reuses it); Chromium's code cache on disk, keyed by URL, serves a new process.
        memory: [...(trace.traceEvents ?? trace)].some((e) => e.name === "wasm.GetNativeModuleFromCache"),
        hit: names.has("v8.wasm.moduleCacheHit"),
        compiled: names.has("v8.wasm.compiledModule"),
        cached: names.has("v8.wasm.cachedModule"),
        invalid: names.has("v8.wasm.moduleCacheInvalid"),
      };
      out.loads.push(load);
      console.error(`browser bench: startup load ${i + 1}: ${JSON.stringify(load)}`);
    }
    const lines = [];
    page.on("console", (msg) => lines.push(msg.text()));
    await page.goto(libs.skywasm.url);
    await page.evaluate(() => B.ready);
    await page.evaluate(() => B.init({ env: { GODEBUG: "inittrace=1" } }));
    const byPkg = new Map();
    let total = 0;
    for (const line of lines.join("\n").split("\n")) {
      const m = /^init (\S+) @[\d.]+ ms, ([\d.]+) ms clock/.exec(line.trim());
      if (!m) continue;
      const ms = Number(m[2]);
      total += ms;
      byPkg.set(m[1], (byPkg.get(m[1]) ?? 0) + ms);
    }
    if (byPkg.size === 0) throw new Error(`no inittrace lines in the console: ${lines.slice(0, 5).join(" | ")}`);
    const top = [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 8);
    out.init = { total, count: byPkg.size, top };
    console.error(`browser bench: package init ${total.toFixed(1)} ms in ${byPkg.size} packages; top ${JSON.stringify(top)}`);
  });
  return out;
}

/**
 * Part 3: one context with a caller and a callee page per library, each with
 * the fake camera; calls alternate between the libraries.
 * @returns {Promise<{skywasm: number[], peerjs: number[]}>} ms per call
 */
async function callTimes(env, p, openPeerPage) {
  const out = { skywasm: [], peerjs: [], phases: { skywasm: [], peerjs: [] } };
  await withContext(env, async ({ context, open }) => {
    const pairs = {};
    for (const lib of ["skywasm", "peerjs"]) {
      const caller = await openPeerPage(open, lib);
      const callee = await openPeerPage(open, lib);
      for (const side of [caller, callee]) await side.page.evaluate(() => B.camera());
      pairs[lib] = { caller: caller.page, callee: callee.page, id: callee.id };
    }
    const call = async (lib) => {
      const { caller, callee, id } = pairs[lib];
      await callee.evaluate(() => B.watchCall());
      const { ms, start, marks } = await caller.evaluate((id) => B.call(id), id);
      const far = await callee.evaluate(() => B.callMarks());
      await caller.evaluate(() => B.hangUp());
      await callee.evaluate(() => B.hangUp());
      // Let both sides finish closing before the next call starts.
      await sleep(200);
      if (process.env.BENCH_DEBUG) console.error(`browser bench: ${lib} call marks ${JSON.stringify({ start, marks, far })}`);
      return { ms, phases: callPhases(start, marks, far) };
    };
    for (const lib of ["skywasm", "peerjs"]) await call(lib);
    const profiling = {};
    if (p.profile) {
      for (const lib of ["skywasm", "peerjs"]) {
        const { caller, callee } = pairs[lib];
        profiling[lib] = await Promise.all([caller, callee].map(async (page) => (await mainThread(context, page)).profile()));
      }
    }
    for (let i = 0; i < p.calls; i++) {
      for (const lib of i % 2 === 0 ? ["skywasm", "peerjs"] : ["peerjs", "skywasm"]) {
        const { ms, phases } = await call(lib);
        out[lib].push(ms);
        out.phases[lib].push(phases);
        const shown = Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(1)}`);
        console.error(`browser bench: call ${i + 1} ${lib}: ${ms.toFixed(0)} ms (${shown.join(", ")})`);
      }
    }
    for (const [lib, stops] of Object.entries(profiling)) {
      for (const [i, side] of ["caller", "callee"].entries()) {
        const file = path.join(p.profile, `call-${lib}-${side}.cpuprofile`);
        writeFileSync(file, JSON.stringify(await stops[i]()));
        console.error(`browser bench: wrote ${file}`);
      }
    }
  });
  return out;
}

/**
 * The phases of one call in ms, from the caller's moments (marks) and the callee's (far), all on the clock every
 * page shares, start being peer.call(): until the offer left the caller (its creation and the caller's library);
 * from there until the answer came back, of which the callee held it from the offer's arrival to the answer's
 * leaving (the rest being the server's relaying, both ways); and from the answer to the caller's stream event: the
 * library's handling of the answer until it set it, the browser's until its track event (which comes before that
 * call's promise settles), and the event's delivery. A phase whose moments were not seen is NaN.
 */
function callPhases(start, marks, far) {
  const span = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? b - a : NaN);
  return {
    offer: span(start, marks.offerSent),
    // PeerJS calls createOffer() and then setLocalDescription(offer); skywasm calls setLocalDescription() alone.
    localOffer: span(Math.min(marks.offerCalled ?? Infinity, marks.setLocalCalled ?? Infinity), marks.setLocalDone),
    roundTrip: span(marks.offerSent, marks.answerReceived),
    callee: span(far.offerReceived, far.answerSent),
    calleeEvent: span(far.offerReceived, far.callEvent),
    relay: span(marks.offerSent, far.offerReceived) + span(far.answerSent, marks.answerReceived),
    answerToStream: span(marks.answerReceived, marks.stream),
    answerToSetRemote: span(marks.answerReceived, marks.setRemoteCalled),
    setRemoteToTrack: span(marks.setRemoteCalled, marks.track),
    trackToStream: span(marks.track, marks.stream),
  };
}

/** The section's rows from the parts' samples; a part that failed leaves its figures null. */
function rows(p, results, peerjsVersion) {
  const fig = (x, digits = 1) => (x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));
  const range = (xs) => (xs?.length ? `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}` : "none");
  const of = (n, what) => `${n} ${what}${n === 1 ? "" : "s"}`;

  const t = results.throughput;
  const size = sizeLabel(p.total);
  const tRow = (metric, sky, other, otherName) => ({
    metric,
    unit: "MB/s",
    skywasm: fig(t && median(t[sky])),
    other: fig(t && median(t[other])),
    otherName,
    better: "higher",
    detail: `median of ${of(p.rounds, "round")}; ranges ${range(t?.[sky])} vs ${range(t?.[other])}`,
  });

  const o = results.open;
  const wire = (which) => {
    const bytes = o?.wasmBytes[which];
    return bytes?.length ? `; sdk.wasm body on the wire ${(median(bytes) / 1e6).toFixed(2)} MB` : "";
  };
  const oRow = (metric, which) => ({
    metric,
    unit: "ms",
    skywasm: fig(o && median(o.skywasm[which])),
    other: fig(o && median(o.peerjs[which])),
    otherName: `PeerJS ${peerjsVersion}`,
    better: "lower",
    detail: `median of ${of(p.openSamples, "context")}; ranges ${range(o?.skywasm[which])} vs ${range(o?.peerjs[which])}${wire(which)}`,
  });

  const st = o?.stages;
  const stageRow = (which, key, label) => {
    const xs = st?.[which]?.map((x) => x?.[key]).filter((x) => Number.isFinite(x));
    return {
      metric: `skywasm start-up, ${which} cache: ${label}`,
      unit: "ms",
      skywasm: fig(xs?.length ? median(xs) : undefined),
      better: "lower",
      detail: `median of ${of(xs?.length ?? 0, "context")}; range ${range(xs)}`,
    };
  };
  const stageRows = (which) => [
    stageRow(which, "fetch", "fetch of sdk.wasm after new Peer()"),
    stageRow(which, "compile", "compile after new Peer() (streaming, from the fetch's start)"),
    stageRow(which, "instantiate", "instantiate"),
    stageRow(which, "goStart", "Go runtime start and package init"),
    stageRow(which, "handshake", "signaling handshake (ready to the server's first message)"),
    stageRow(which, "deliver", "open delivered (server's message to the page's listener)"),
  ];
  const sp = results.startup;
  const warmLoads = sp?.loads.slice(1) ?? [];
  const hits = warmLoads.filter((l) => (l.hit && !l.invalid) || l.memory).length;
  const loadWord = (l) =>
    (l.memory ? "V8's in-memory module cache" : l.hit ? (l.invalid ? "code cache rejected" : "code cache hit") : l.compiled ? "compiled" : "no event") +
    (l.cached ? ", written to the code cache" : "");
  const init = sp?.init;

  const c = results.calls;
  const cRow = (pct) => ({
    metric: `peer.call() to the caller's stream event, p${pct}`,
    unit: "ms",
    skywasm: fig(c && percentile(c.skywasm, pct)),
    other: fig(c && percentile(c.peerjs, pct)),
    otherName: `PeerJS ${peerjsVersion}`,
    better: "lower",
    detail: `${of(p.calls, "call")} each, alternating`,
  });

  const phaseLabels = {
    offer: "peer.call() until the offer left",
    localOffer: "the local offer: createOffer() and setLocalDescription(), or setLocalDescription() alone",
    roundTrip: "the offer's leaving until the answer came back",
    callee: "the callee, from the offer's arrival to the answer's leaving",
    calleeEvent: "the callee, from the offer's arrival to its call event",
    relay: "the server's relaying, offer and answer",
    answerToStream: "the answer's arrival until the stream event",
    answerToSetRemote: "the answer's arrival until setRemoteDescription(answer)",
    setRemoteToTrack: "setRemoteDescription(answer) until the track event",
    trackToStream: "the track event until the stream event",
  };
  const phaseRow = (key) => {
    const samples = (lib) => c?.phases[lib].map((x) => x[key]).filter((x) => Number.isFinite(x)) ?? [];
    const [sky, pj] = [samples("skywasm"), samples("peerjs")];
    return {
      metric: `peer.call(), p50 of a phase: ${phaseLabels[key]}`,
      unit: "ms",
      skywasm: fig(sky.length ? median(sky) : undefined),
      other: fig(pj.length ? median(pj) : undefined),
      otherName: `PeerJS ${peerjsVersion}`,
      better: "lower",
      detail: `median of ${of(sky.length, "call")}; ranges ${range(sky)} vs ${range(pj)}`,
    };
  };
  const cpuRow = (side, sky, other, otherName) => ({
    metric: `data channel, ${size}: the ${side === "send" ? "sender" : "receiver"}'s main thread per MiB, skywasm ${sky === "skyBinary" ? "binary" : "none"} vs ${otherName}`,
    unit: "ms",
    skywasm: fig(t?.cpu?.[sky] && median(t.cpu[sky][side])),
    other: fig(t?.cpu?.[other] && median(t.cpu[other][side])),
    otherName,
    better: "lower",
    detail: `CPU time of its tasks (DevTools protocol, thread ticks); median of ${of(p.rounds, "round")}; ranges ${range(t?.cpu?.[sky]?.[side])} vs ${range(t?.cpu?.[other]?.[side])}`,
  });

  // goal appends to row's detail the goal the browser SDK's issue set for its ratio (skywasm / other), at most
  // or at least bound, with how far this run is from it; ms, if set, is a bound on skywasm's own figure too.
  const goal = (row, bound, { ms } = {}) => {
    const ratio = row.skywasm / row.other;
    if (!Number.isFinite(ratio)) return row;
    const higher = row.better === "higher";
    const missedBy = higher ? (bound - ratio) / bound : (ratio - bound) / bound;
    const misses = [];
    if (missedBy > 0) misses.push(`the ratio missed by ${(100 * missedBy).toFixed(0)}%`);
    if (ms !== undefined && row.skywasm > ms) misses.push(`${(row.skywasm - ms).toFixed(0)} ms over ${ms} ms`);
    const text = `goal ${higher ? "≥" : "≤"} ${bound}×${ms !== undefined ? ` and under ${ms} ms` : ""}: ${misses.join(", ") || "met"}`;
    return { ...row, detail: `${row.detail}; ${text}` };
  };

  return [
    tRow(`data channel, ${size}: skywasm binary vs PeerJS default`, "skyBinary", "pjBinary", "PeerJS default"),
    tRow(`data channel, ${size}: skywasm none vs PeerJS raw`, "skyNone", "pjRaw", "PeerJS raw"),
    goal(tRow(`data channel, ${size}: skywasm binary vs the bare channel`, "skyBinary", "raw", "RTCPeerConnection"), 0.9),
    goal(tRow(`data channel, ${size}: skywasm none vs the bare channel`, "skyNone", "raw", "RTCPeerConnection"), 0.95),
    tRow(`data channel, ${size}: skywasm binary vs the bare channel in 16 KiB messages`, "skyBinary", "raw16", "RTCPeerConnection, 16 KiB messages"),
    cpuRow("send", "skyBinary", "raw", "RTCPeerConnection"),
    cpuRow("receive", "skyBinary", "raw", "RTCPeerConnection"),
    cpuRow("send", "skyNone", "raw", "RTCPeerConnection"),
    cpuRow("receive", "skyNone", "raw", "RTCPeerConnection"),
    cpuRow("send", "skyBinary", "raw16", "RTCPeerConnection, 16 KiB messages"),
    cpuRow("receive", "skyBinary", "raw16", "RTCPeerConnection, 16 KiB messages"),
    goal(oRow("new Peer() to open, cold cache (wasm load included)", "cold"), 10),
    goal(oRow("new Peer() to open, warm cache", "warm"), 4, { ms: 100 }),
    {
      metric: "new Peer() to open, warm cache, after Peer.init() resolved",
      unit: "ms",
      skywasm: fig(o && median(o.skywasm.init)),
      other: fig(o && median(o.skywasm.warm)),
      otherName: "skywasm without Peer.init()",
      better: "lower",
      detail: `median of ${of(p.openSamples, "context")}; ranges ${range(o?.skywasm.init)} vs ${range(o?.skywasm.warm)}`,
    },
    ...stageRows("cold"),
    ...stageRows("warm"),
    {
      metric: "warm loads that compiled nothing (V8's wasm caches)",
      unit: "%",
      skywasm: fig(sp && warmLoads.length ? (100 * hits) / warmLoads.length : undefined, 0),
      better: "higher",
      detail: sp ? `Chromium trace of 3 loads in one context: ${sp.loads.map(loadWord).join("; ")}` : "",
    },
    {
      metric: "Go package init, all packages (GODEBUG=inittrace=1)",
      unit: "ms",
      skywasm: fig(init?.total),
      better: "lower",
      detail: init ? `${init.count} packages; most: ${init.top.map(([pkg, ms]) => `${pkg} ${ms.toFixed(1)}`).join(", ")}` : "",
    },
    goal(cRow(50), 1.1),
    goal(cRow(95), 1.25),
    ...Object.keys(phaseLabels).map(phaseRow),
  ];
}

/** "64 MiB", "1 MiB", … */
function sizeLabel(bytes) {
  return bytes % (1 << 20) === 0 ? `${bytes / (1 << 20)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/** The command that re-runs this benchmark as it ran: in scripts/netns.sh when the process has only loopback. */
function commandLine() {
  const names = Object.keys(os.networkInterfaces());
  const isolated = names.length > 0 && names.every((name) => name === "lo");
  const script = path.relative(repoRoot, fileURLToPath(import.meta.url));
  return [...(isolated ? ["scripts/netns.sh"] : []), "node", script, ...process.argv.slice(2)].join(" ");
}

/** The section as a table for people. */
export function formatTable(section) {
  const head = ["metric", "unit", "skywasm", "other", "vs", "ratio", "detail"];
  const cell = (x) => (x === null || x === undefined ? "—" : String(x));
  const body = section.rows.map((r) => {
    const ratio = r.skywasm !== null && r.other ? (r.skywasm / r.other).toFixed(2) : "—";
    return [r.metric, r.unit, cell(r.skywasm), cell(r.other), r.otherName ?? "", ratio, r.detail ?? ""];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [
    `${section.title}   (${section.command})`,
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line),
    "ratio = skywasm / other; MB/s: higher is better, ms: lower is better.",
    ...section.notes.map((n) => `* ${n}`),
  ].join("\n");
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  const { section, failed } = await run(args);
  writeFileSync(args.json, `${JSON.stringify(section, null, 2)}\n`);
  console.log(formatTable(section));
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(`browser bench: ${err.stack ?? err}`);
    process.exit(1);
  });
}
