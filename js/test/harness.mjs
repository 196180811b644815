// The harness of skywasm's browser tests: a real `skywasm serve` in dev mode,
// Debian's Chromium driven by playwright-core through scripts/chromium (the
// one list of the flags the tests need), a fresh browser context per test,
// and helpers that run inside the pages (window.T).
//
// This file holds no tests. Importing it starts nothing: a test file calls
// useEnv() inside its describe() to get a server and a browser for it.
//
// Run the suite in a loopback-only network namespace:
//
//	scripts/netns.sh node --test --test-concurrency=1 js/test/*.test.mjs
//
// Name the files: given a directory, Node 20's runner also runs every .js
// and .mjs file below a directory named test (this one, js/test/types/…).
//
// SKYWASM_TEST_VERBOSE=1 echoes the server's log and every page's console.

import { spawn, execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { once } from "node:events";
import path from "node:path";
import readline from "node:readline";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

/** The repository's root directory. */
export const repoRoot = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

const verbose = !!process.env.SKYWASM_TEST_VERBOSE;

/** How long a page may take to do what it is asked, unless a test says otherwise. */
export const defaultTimeout = 20_000;

/**
 * Fails unless `make build` has produced what the tests serve and run.
 */
export function requireBuilt() {
  const needed = [path.join(repoRoot, "bin", "skywasm"), path.join(repoRoot, "js", "sdk.wasm")];
  const missing = needed.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(
      `${missing.map((file) => path.relative(repoRoot, file)).join(" and ")} missing: ` +
        "run `make build` in the repository's root first",
    );
  }
}

/**
 * Starts `bin/skywasm serve` in dev mode on a free 127.0.0.1 port, serving the
 * repository (its js/ at /sdk/, its examples/ at /examples/).
 * args are added to serve's flags.
 * @returns {Promise<{url: string, key: string, stop: () => Promise<void>, log: string[]}>}
 *   url ends with a slash; log holds the server's recent stderr lines.
 */
export async function startServer({ timeout = 15_000, args = [] } = {}) {
  requireBuilt();
  let url, key;
  const { value, stop, log } = await startProcess(
    "skywasm serve",
    path.join(repoRoot, "bin", "skywasm"),
    ["serve", "-addr", "127.0.0.1:0", "-static", repoRoot, ...args],
    {
      timeout,
      keep: 300,
      // serve gives itself 4.5 s to shut down gracefully.
      killAfter: 8_000,
      ready(line, stream) {
        if (stream !== "stdout") return undefined;
        let m;
        if ((m = /^skywasm: listening on (\S+)/.exec(line))) url = m[1].endsWith("/") ? m[1] : `${m[1]}/`;
        if ((m = /^skywasm: dev mode — API key ([^;\s]+);/.exec(line))) key = m[1];
        return url && key ? { url, key } : undefined;
      },
    },
  );
  return { ...value, stop, log };
}

/**
 * Starts file with args in the repository's root and resolves once
 * ready(line, "stdout" | "stderr") returns something other than undefined
 * for a line of its output, with {child, value (what ready returned), stop,
 * log (its last `keep` lines)}. stop() sends SIGTERM, then SIGKILL after
 * killAfter ms; the child is killed if this process exits first. If the
 * child fails to become ready within timeout ms, it is stopped and the
 * error carries its output.
 */
export async function startProcess(name, file, args, { ready, timeout = 15_000, killAfter = 5_000, keep = 200 }) {
  const child = spawn(file, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = once(child, "exit");
  const log = [];
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfter);
    await exited;
    clearTimeout(timer);
  };
  let value;
  try {
    value = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} was not ready within ${timeout} ms`)), timeout);
      const done = (err, v) => {
        clearTimeout(timer);
        err ? reject(err) : resolve(v);
      };
      child.once("error", (err) => done(new Error(`cannot start ${file}: ${err.message}`)));
      exited.then(([code, signal]) => done(new Error(`${name} exited (${signal ?? `status ${code}`}) before it was ready`)));
      for (const [stream, input] of [["stdout", child.stdout], ["stderr", child.stderr]]) {
        readline.createInterface({ input }).on("line", (line) => {
          keepLast(log, line, keep);
          if (verbose) console.log(`${name} ${stream}: ${line}`);
          const v = ready(line, stream);
          if (v !== undefined) done(null, v);
        });
      }
    });
  } catch (err) {
    await stop();
    err.message += log.length > 0 ? `\n${name} output:\n${log.join("\n")}` : "";
    throw err;
  }
  return { child, value, stop, log };
}

/**
 * Starts Chromium headless through scripts/chromium, which adds the flags for
 * loopback ICE, the fake camera and microphone, media permission and autoplay.
 */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: path.join(repoRoot, "scripts", "chromium"),
    headless: true,
    timeout: 30_000,
  });
}

/**
 * Registers before/after hooks in the enclosing describe() that start a
 * server and a browser for its tests and stop them afterwards. The returned
 * object is filled in by the before hook: {server, browser, url, key}.
 * serverArgs are added to `skywasm serve`'s; contextOptions go to every
 * browser context withContext makes.
 */
export function useEnv({ serverArgs = [], contextOptions = {} } = {}) {
  const env = { contextOptions };
  before(
    async () => {
      env.server = await startServer({ args: typeof serverArgs === "function" ? serverArgs() : serverArgs });
      env.url = env.server.url;
      env.key = env.server.key;
      env.browser = await launchBrowser();
    },
    { timeout: 60_000 },
  );
  after(
    async () => {
      for (const stop of env.cleanups ?? []) await stop().catch(() => {});
      await env.browser?.close().catch(() => {});
      await env.server?.stop();
    },
    { timeout: 30_000 },
  );
  env.cleanups = [];
  return env;
}

/**
 * Runs fn with a fresh browser context and closes it afterwards. fn gets
 * {context, open(path), pages}; open() makes a page, records its console and
 * uncaught errors, and loads path (relative to the server's URL).
 *
 * The test fails when a page had an uncaught error, even if fn succeeded.
 * When it fails, the pages' errors and the end of their consoles and of the
 * server's log are printed.
 */
export async function withContext(env, fn) {
  const context = await env.browser.newContext(env.contextOptions);
  context.setDefaultTimeout(defaultTimeout);
  await context.addInitScript(pageHelpers);
  const pages = [];
  const open = async (where = "examples/") => {
    const page = await context.newPage();
    const record = { name: `page ${pages.length + 1}`, page, errors: [], console: [] };
    pages.push(record);
    page.on("pageerror", (err) => {
      record.errors.push(err);
      if (verbose) console.log(`${record.name} uncaught: ${err.stack ?? err}`);
    });
    page.on("console", (msg) => {
      const line = `[${msg.type()}] ${msg.text()}`;
      keepLast(record.console, line, 200);
      if (verbose) console.log(`${record.name} ${line}`);
    });
    page.on("crash", () => record.errors.push(new Error("the page crashed")));
    await page.goto(new URL(where, env.url).href);
    return page;
  };

  let failure;
  try {
    await fn({ context, open, pages });
  } catch (err) {
    failure = err;
  }
  await context.close().catch(() => {});

  const uncaught = pages.flatMap((p) => p.errors.map((err) => `${p.name}: ${err.stack ?? err}`));
  if (failure || uncaught.length > 0) {
    const report = [];
    for (const p of pages) {
      report.push(`--- ${p.name} (${p.page.url()}): console, last ${p.console.length} lines`, ...p.console);
    }
    report.push(`--- server log, last lines`, ...env.server.log.slice(-40));
    console.log(report.join("\n"));
  }
  if (failure) {
    if (uncaught.length > 0) console.log(`uncaught page errors:\n${uncaught.join("\n")}`);
    throw failure;
  }
  if (uncaught.length > 0) throw new Error(`uncaught page errors:\n${uncaught.join("\n")}`);
}

/**
 * Makes a page of the server's origin with the SDK as a classic script and
 * the dev key, and nothing else of its own: the examples' index page, which
 * loads no SDK, plus /sdk/skywasm.js and /examples/_shared/key.js.
 */
export async function openSdkPage(open) {
  const page = await open("examples/");
  await page.addScriptTag({ url: "/sdk/skywasm.js" });
  await page.addScriptTag({ url: "/examples/_shared/key.js" });
  return page;
}

/**
 * Starts the native Go echo peer (cmd/echopeer) against env's
 * server with the given ID, building bin/echopeer first if it is missing,
 * and stops it when env's after hook runs. Resolves once it printed
 * `echopeer: open ID`.
 */
export async function startEchoPeer(env, id = "echo-bot", { timeout = 20_000 } = {}) {
  const bin = path.join(repoRoot, "bin", "echopeer");
  if (!existsSync(bin)) {
    if (!existsSync(path.join(repoRoot, "cmd", "echopeer"))) {
      throw new Error("cmd/echopeer does not exist yet: the native echo peer is needed for this test");
    }
    await new Promise((resolve, reject) => {
      execFile(
        process.env.GO ?? "go",
        ["build", "-o", bin, "./cmd/echopeer"],
        { cwd: repoRoot, timeout: 300_000 },
        (err, _stdout, stderr) =>
          err ? reject(new Error(`go build ./cmd/echopeer failed: ${err.message}\n${stderr}`)) : resolve(),
      );
    });
  }
  const base = env.url.replace(/\/$/, "");
  // -loopback: ICE on 127.0.0.1 only; the tests run in a loopback-only
  // network namespace, where pion finds no other address anyway.
  const args = ["-url", base, "-key", env.key, "-id", id, "-loopback"];
  if (verbose) args.push("-v");
  const { stop, log } = await startProcess("echopeer", bin, args, {
    timeout,
    ready: (line) => (line.includes(`echopeer: open ${id}`) ? true : undefined),
  });
  env.cleanups.push(stop);
  return { id, stop, log };
}

/** Sleeps ms milliseconds. */
/**
 * Makes a square 240x240 canvas stream of changing colours in the page, as window.canvasStream (its timer is
 * window.canvasTimer). Its shape, not its size, tells it apart from the fake camera's 4:3: under CPU load Chromium's
 * encoder scales a video down, keeping its aspect ratio, so a far side may see either at a smaller size.
 */
export async function canvasStream(page) {
  await page.evaluate(() => {
    const canvas = Object.assign(document.createElement("canvas"), { width: 240, height: 240 });
    const ctx = canvas.getContext("2d");
    let n = 0;
    window.canvasTimer = setInterval(() => {
      ctx.fillStyle = `hsl(${(n += 7) % 360} 80% 50%)`;
      ctx.fillRect(0, 0, 240, 240);
    }, 33);
    window.canvasStream = canvas.captureStream(30);
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function keepLast(lines, line, n) {
  lines.push(line);
  if (lines.length > n) lines.splice(0, lines.length - n);
}

/**
 * Installed in every page before its own scripts as window.T. Every wait has
 * a deadline, so that a page never leaves page.evaluate hanging.
 * It runs in the browser: it may use nothing from this module.
 */
function pageHelpers() {
  const T = {
    key: () => window.__SKYWAY_KEY__,

    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),

    /** Resolves or rejects as promise does, or rejects after ms. */
    deadline(promise, ms, what) {
      let timer;
      return Promise.race([
        promise,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
        }),
      ]).finally(() => clearTimeout(timer));
    },

    /**
     * Resolves with the first argument of emitter's next `name` event.
     * Unless name is "error", an `error` event rejects (with err.type kept).
     */
    event(emitter, name, ms = 15_000, what = `the ${name} event`) {
      return new Promise((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          emitter.off(name, onEvent);
          if (name !== "error") emitter.off("error", onError);
        };
        const onEvent = (value) => {
          cleanup();
          resolve(value);
        };
        const onError = (err) => {
          cleanup();
          const e = new Error(`error event while waiting for ${what}: ${err?.type}: ${err?.message}`);
          e.type = err?.type;
          reject(e);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
        }, ms);
        emitter.on(name, onEvent);
        if (name !== "error") emitter.on("error", onError);
      });
    },

    /** Polls cond every 20 ms until it returns something truthy, which it resolves with. */
    async until(cond, ms = 15_000, what = "a condition") {
      const end = performance.now() + ms;
      for (;;) {
        const value = await cond();
        if (value) return value;
        if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await T.sleep(20);
      }
    },

    /** new Peer(...args), with the dev key unless options are given; resolves on open. */
    async openPeer(id, options) {
      if (typeof id === "object" && id !== null) [id, options] = [undefined, id];
      options = { key: T.key(), debug: 2, ...options };
      const peer = id === undefined ? new Peer(options) : new Peer(id, options);
      await T.event(peer, "open", 20_000, "the peer's open event");
      return peer;
    },

    /** Hex SHA-256 of bytes (ArrayBuffer or view). */
    async sha256(bytes) {
      const digest = await crypto.subtle.digest("SHA-256", bytes);
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    },

    /** n deterministic pseudo-random bytes. */
    bytes(n, seed = 1) {
      const out = new Uint8Array(n);
      let x = seed >>> 0;
      for (let i = 0; i < n; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        out[i] = x >>> 24;
      }
      return out;
    },

    /**
     * A JSON-able description of a value, precise enough for deepStrictEqual
     * in Node to tell two values apart: the type (ArrayBuffer vs Uint8Array,
     * File vs Blob, BigInt vs number, -0 vs 0) and the content (bytes by
     * length, first bytes and SHA-256). Object keys are sorted. Promises are
     * awaited first.
     */
    async describe(value) {
      value = await value;
      const bytesOf = async (u8) => ({
        length: u8.byteLength,
        head: [...u8.subarray(0, 24)].map((b) => b.toString(16).padStart(2, "0")).join(""),
        sha256: await T.sha256(u8),
      });
      switch (typeof value) {
        case "undefined":
          return { t: "undefined" };
        case "boolean":
          return { t: "boolean", v: value };
        case "string":
          if (value.length <= 200) return { t: "string", v: value };
          return { t: "string", ...(await bytesOf(new TextEncoder().encode(value))) };
        case "bigint":
          return { t: "bigint", v: value.toString() };
        case "number":
          return { t: "number", v: Object.is(value, -0) ? "-0" : String(value) };
        case "object":
          break;
        default:
          return { t: typeof value };
      }
      if (value === null) return { t: "null" };
      if (value instanceof Date) return { t: "Date", v: String(value.getTime()) };
      if (value instanceof ArrayBuffer) return { t: "ArrayBuffer", ...(await bytesOf(new Uint8Array(value))) };
      if (ArrayBuffer.isView(value)) {
        const u8 = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        return { t: value.constructor.name, ...(await bytesOf(u8)) };
      }
      if (value instanceof File) {
        const u8 = new Uint8Array(await value.arrayBuffer());
        return { t: "File", name: value.name, type: value.type, ...(await bytesOf(u8)) };
      }
      if (value instanceof Blob) {
        const u8 = new Uint8Array(await value.arrayBuffer());
        return { t: "Blob", type: value.type, ...(await bytesOf(u8)) };
      }
      if (Array.isArray(value)) return { t: "Array", items: await Promise.all(value.map((v) => T.describe(v))) };
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        const keys = Object.keys(value).sort();
        const entries = await Promise.all(keys.map(async (k) => [k, await T.describe(value[k])]));
        return { t: "Object", entries };
      }
      return { t: Object.prototype.toString.call(value) };
    },

    /**
     * The values a DataConnection with the given serialization must carry,
     * each with what the far side must get ({group, name, value, expect}),
     * per skywasm's JS API contract.
     */
    cases(serialization) {
      const viewBytes = (v) => v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
      // What binary gives back: every typed array and DataView as an
      // ArrayBuffer of the bytes it views; everything else as itself.
      const asBinary = (v) => {
        if (ArrayBuffer.isView(v)) return viewBytes(v);
        if (Array.isArray(v)) return v.map(asBinary);
        if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
          return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asBinary(x)]));
        }
        return v;
      };
      const big = T.bytes(300, 7).buffer;
      const f32 = new Float32Array([1.5, -2.25, 3.4028234663852886e38, Number.NaN]);
      const i16 = new Int16Array([1, -1, 32767, -32768, 0, 1234]);
      const json = [
        ["string", "hello"],
        ["empty string", ""],
        ["non-ASCII string", "日本語 ✓ émoji 🎉 ﬀ \u0000 nul"],
        ["zero", 0],
        ["positive integer", 42],
        ["negative integer", -7],
        ["integer 2^31", 2147483648],
        ["MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
        ["MIN_SAFE_INTEGER", Number.MIN_SAFE_INTEGER],
        ["float", 3.14159],
        ["negative float", -0.5],
        ["smallest float", 5e-324],
        ["largest float", 1.7976931348623157e308],
        ["true", true],
        ["false", false],
        ["null", null],
        ["array", [1, "two", [3, [4, []]], null, true, 2.5]],
        ["empty array", []],
        ["empty object", {}],
        ["object", { a: 1, b: "x", nested: { c: [1, 2, { d: null }] }, "key with space": true, 日本: "ja" }],
      ];
      // json has no chunking: a message must fit the data channel's
      // max-message-size (256 KiB in Chromium); binary chunks anything.
      const chunked = [["long string (chunked)", "skywasm ".repeat(40_000) + "end ✓"]];
      if (serialization === "json") {
        return [...json, ["Date (as its ISO string)", new Date(1_700_000_000_123)]].map(([name, value]) => ({
          group: "json",
          name,
          value,
          expect: JSON.parse(JSON.stringify(value)),
        }));
      }
      if (serialization === "none") {
        const u8 = new Uint8Array(T.bytes(64, 3).buffer, 5, 40);
        const blob = new Blob(["blob ✓ ", T.bytes(100, 4)], { type: "application/x-test" });
        const file = new File(["file ✓"], "a.txt", { type: "text/plain" });
        return [
          ["string", "hello", "hello"],
          ["non-ASCII string", "日本語 ✓ 🎉", "日本語 ✓ 🎉"],
          ["empty string", "", ""],
          ["ArrayBuffer", big, big],
          ["empty ArrayBuffer", new ArrayBuffer(0), new ArrayBuffer(0)],
          ["64 KiB ArrayBuffer", T.bytes(65_536, 9).buffer, T.bytes(65_536, 9).buffer],
          ["Uint8Array (part of a buffer)", u8, viewBytes(u8)],
          ["Float32Array", f32, viewBytes(f32)],
          ["DataView (part of a buffer)", new DataView(big, 10, 20), big.slice(10, 30)],
          ["Blob (as ArrayBuffer)", blob, blob.arrayBuffer()],
          ["File (as ArrayBuffer)", file, file.arrayBuffer()],
        ].map(([name, value, expect]) => ({ group: "none", name, value, expect }));
      }
      // binary and binary-utf8
      const mib = T.bytes(1 << 20, 5).buffer;
      // -0 is left out: it arrives as 0, as it did with SkyWay's BinaryPack,
      // which packed every integral number as an integer.
      const edge = [
        ["NaN", Number.NaN],
        ["Infinity", Number.POSITIVE_INFINITY],
        ["-Infinity", Number.NEGATIVE_INFINITY],
        ["BigInt 2^60", 2n ** 60n],
        ["BigInt -2^62", -(2n ** 62n)],
        ["BigInt -2^63 (int64 min)", -(2n ** 63n)],
        ["BigInt 2^64-1 (uint64 max)", 2n ** 64n - 1n],
      ];
      const binary = [
        ["Date", new Date(1_700_000_000_123)],
        ["Date before 1970", new Date(-86_400_000 * 365 - 1)],
        ["ArrayBuffer", big],
        ["empty ArrayBuffer", new ArrayBuffer(0)],
        ["Uint8Array (part of a buffer)", new Uint8Array(T.bytes(64, 3).buffer, 5, 40)],
        ["Float32Array", f32],
        ["Int16Array", i16],
        ["DataView (part of a buffer)", new DataView(big, 10, 20)],
        ["Blob", new Blob(["blob ✓ ", T.bytes(100, 4)], { type: "application/x-test" })],
        ["Blob without a type", new Blob(["abc"])],
        ["empty Blob", new Blob([], { type: "text/plain" })],
        ["File", new File(["file content ✓"], "notes ✓.txt", { type: "text/plain", lastModified: 1_700_000_000_000 })],
        ["File without a type", new File([T.bytes(50, 6)], "data.bin")],
        ["1 MiB ArrayBuffer (chunked)", mib],
        // Values of up to 256 KiB (Chromium's max-message-size) go as one message, larger ones in chunks. A binary,
        // File or Blob in one message, or in chunks up to 1 MiB, is put together in the page's memory, the others in
        // Go's (sdk/placed_js.go).
        ["300 KiB Float32Array (chunked)", new Float32Array(T.bytes(300 << 10, 11).buffer)],
        ["400 KiB File (chunked)", new File([T.bytes(400 << 10, 16)], "bigger ✓.bin", { type: "application/x-big" })],
        ["64 KiB ArrayBuffer (one message)", T.bytes(64 << 10, 17).buffer],
        ["200 KiB File (one message)", new File([T.bytes(200 << 10, 12)], "big ✓.bin", { type: "application/x-big" })],
        ["100 KiB Blob (one message)", new Blob([T.bytes(100 << 10, 13)], { type: "text/plain" })],
        ["object holding 100 KiB (one message)", { data: T.bytes(100 << 10, 15).buffer }],
        [
          "object holding every kind",
          {
            kind: "mix",
            n: 1,
            f: 0.25,
            s: "ş",
            big: 2n ** 55n,
            when: new Date(86_400_000),
            buf: new Uint8Array([1, 2, 3]),
            blob: new Blob(["b"], { type: "x/y" }),
            file: new File(["f"], "f.txt", { type: "text/plain" }),
            list: [new ArrayBuffer(2), [new Int16Array([7])], { deep: { deeper: [null, false] } }],
          },
        ],
        ["array of 1000 small objects", Array.from({ length: 1000 }, (_, i) => ({ i, s: `item ${i}` }))],
      ];
      return [
        ...[...json, ...chunked].map(([name, value]) => ({ group: "JSON values", name, value, expect: asBinary(value) })),
        ...edge.map(([name, value]) => ({ group: "number edge cases", name, value, expect: value })),
        ...binary.map(([name, value]) => ({ group: "binary values", name, value, expect: asBinary(value) })),
      ];
    },
  };
  window.T = T;
}
