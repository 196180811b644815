// The browser benchmark (bench/browser/browser.mjs) keeps working: its
// --smoke run fills every row of its section with figures, and its statistics
// give what package bench's Go ones give.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { median, percentile } from "../../bench/browser/stats.mjs";
import { repoRoot, requireBuilt } from "./harness.mjs";

describe("the browser benchmark's statistics", () => {
  // The cases of bench/bench_test.go's TestStatistics.
  const xs = [5, 1, 4, 2, 3];
  for (const [name, got, want] of [
    ["median odd", () => median(xs), 3],
    ["median even", () => median([4, 1, 3, 2]), 2.5],
    ["p50", () => percentile(xs, 50), 3],
    ["p99", () => percentile(xs, 99), 5],
    ["p0", () => percentile(xs, 0), 1],
    ["p95 of 20 is the 19th", () => percentile([...Array(20).keys()].map((i) => 20 - i), 95), 19],
    ["median of none", () => median([]), NaN],
    ["percentile of none", () => percentile([], 50), NaN],
  ]) {
    it(name, () => assert.equal(got(), want));
  }
  it("sorts a copy", () => {
    median(xs);
    percentile(xs, 50);
    assert.deepEqual(xs, [5, 1, 4, 2, 3]);
  });
});

describe("the browser benchmark", { timeout: 300_000 }, () => {
  it("--smoke writes a section with every row filled", { timeout: 240_000 }, async () => {
    requireBuilt();
    const dir = mkdtempSync(path.join(os.tmpdir(), "skywasm-bench-"));
    try {
      const file = path.join(dir, "browser.json");
      const { code, stdout, stderr } = await new Promise((resolve) => {
        execFile(
          process.execPath,
          [path.join(repoRoot, "bench", "browser", "browser.mjs"), "--json", file, "--smoke"],
          { cwd: repoRoot, timeout: 230_000, maxBuffer: 16 << 20 },
          (err, stdout, stderr) => resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr }),
        );
      });
      assert.equal(code, 0, `browser.mjs --smoke failed (${code}):\n${stderr.slice(-4000)}`);

      const section = JSON.parse(readFileSync(file, "utf8"));
      assert.equal(section.title, "In the browser");
      assert.match(section.command, /node bench\/browser\/browser\.mjs --json \S+ --smoke$/);
      assert.ok(section.notes.some((n) => /Chromium \d+\./.test(n)), "the notes name Chromium's version");
      assert.ok(section.notes.some((n) => /PeerJS \d+\.\d+\.\d+/.test(n)), "the notes name PeerJS's version");
      assert.ok(!section.notes.some((n) => /failed/.test(n)), `no part failed:\n${section.notes.join("\n")}`);

      const want = [
        ["data channel, 1 MiB: skywasm binary vs PeerJS default", "MB/s", "higher", "PeerJS default"],
        ["data channel, 1 MiB: skywasm none vs PeerJS raw", "MB/s", "higher", "PeerJS raw"],
        ["data channel, 1 MiB: skywasm binary vs the bare channel", "MB/s", "higher", "RTCPeerConnection"],
        ["data channel, 1 MiB: skywasm none vs the bare channel", "MB/s", "higher", "RTCPeerConnection"],
        ["data channel, 1 MiB: skywasm binary vs the bare channel in 16 KiB messages", "MB/s", "higher", "RTCPeerConnection, 16 KiB messages"],
        ...[
          ["binary", "RTCPeerConnection"],
          ["none", "RTCPeerConnection"],
          ["binary", "RTCPeerConnection, 16 KiB messages"],
        ].flatMap(([serialization, other]) =>
          ["sender", "receiver"].map((side) => [
            `data channel, 1 MiB: the ${side}'s main thread per MiB, skywasm ${serialization} vs ${other}`,
            "ms",
            "lower",
            other,
            // A bare channel's sender can take well under 0.05 ms a MiB.
            true,
          ]),
        ),
        ["new Peer() to open, cold cache (wasm load included)", "ms", "lower", /^PeerJS /],
        ["new Peer() to open, warm cache", "ms", "lower", /^PeerJS /],
        ["new Peer() to open, warm cache, after Peer.init() resolved", "ms", "lower", "skywasm without Peer.init()"],
        ...["cold", "warm"].flatMap((which) =>
          [
            "fetch of sdk.wasm after new Peer()",
            "compile after new Peer() (streaming, from the fetch's start)",
            "instantiate",
            "Go runtime start and package init",
            "signaling handshake (ready to the server's first message)",
            "open delivered (server's message to the page's listener)",
          ].map((label) => [`skywasm start-up, ${which} cache: ${label}`, "ms", "lower", null]),
        ),
        ["warm loads that compiled nothing (V8's wasm caches)", "%", "higher", null],
        ["Go package init, all packages (GODEBUG=inittrace=1)", "ms", "lower", null],
        ["peer.call() to the caller's stream event, p50", "ms", "lower", /^PeerJS /],
        ["peer.call() to the caller's stream event, p95", "ms", "lower", /^PeerJS /],
        ...[
          "peer.call() until the offer left",
          "the local offer: createOffer() and setLocalDescription(), or setLocalDescription() alone",
          "the offer's leaving until the answer came back",
          "the callee, from the offer's arrival to the answer's leaving",
          "the callee, from the offer's arrival to its call event",
          "the server's relaying, offer and answer",
          "the answer's arrival until the stream event",
          "the answer's arrival until setRemoteDescription(answer)",
          "setRemoteDescription(answer) until the track event",
          "the track event until the stream event",
        ].map((label) => [`peer.call(), p50 of a phase: ${label}`, "ms", "lower", /^PeerJS /, true]),
      ];
      assert.deepEqual(
        section.rows.map((r) => r.metric),
        want.map(([metric]) => metric),
      );
      for (const [i, [metric, unit, better, otherName, zeroOK]] of want.entries()) {
        const row = section.rows[i];
        assert.equal(row.unit, unit, metric);
        assert.equal(row.better, better, metric);
        if (otherName === null) {
          // skywasm's own figures (stages, cache, init): filled, and 0 where a stage took no time after new Peer().
          assert.equal(row.other ?? null, null, metric);
          assert.ok(typeof row.skywasm === "number" && row.skywasm >= 0 && Number.isFinite(row.skywasm), `${metric}: ${row.skywasm}`);
          continue;
        }
        if (typeof otherName === "string") assert.equal(row.otherName, otherName, metric);
        else assert.match(row.otherName, otherName, metric);
        for (const side of ["skywasm", "other"]) {
          const least = zeroOK ? row[side] >= 0 : row[side] > 0;
          assert.ok(typeof row[side] === "number" && least && Number.isFinite(row[side]), `${metric}: ${side} is ${row[side]}`);
        }
      }
      const byMetric = (m) => section.rows.find((r) => r.metric.startsWith(m));
      // A p95 is never below its p50.
      const [p50, p95] = [byMetric("peer.call() to the caller's stream event, p50"), byMetric("peer.call() to the caller's stream event, p95")];
      assert.ok(p95.skywasm >= p50.skywasm && p95.other >= p50.other);
      // The cold load fetched sdk.wasm; the warm one took it from the cache.
      assert.match(byMetric("new Peer() to open, cold cache").detail, /sdk\.wasm body on the wire [1-9]\d*\.\d\d MB/);
      assert.match(byMetric("new Peer() to open, warm cache").detail, /sdk\.wasm body on the wire 0\.00 MB/);

      assert.match(stdout, /^In the browser/, "the table is printed");
      for (const [metric] of want) assert.ok(stdout.includes(metric), `the table shows ${metric}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
