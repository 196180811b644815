// The npm package as a user gets it: `npm pack` makes the tarball, which is
// installed from the file (offline) into an empty project in a temporary
// directory. Then, with the project served by a static server of its own (a
// different origin from `skywasm serve`):
//
//  1. a plain HTML page loads node_modules/skywasm/js/skywasm.js as a classic
//     script and opens a Peer against skywasm serve;
//  2. an ES module page does `import Peer from "skywasm"` through an import
//     map and opens a Peer;
//  3. a TypeScript file importing from "skywasm" type-checks with the
//     repository's tsc, resolving the installed package's types.
//
// The tarball ships the built sdk.wasm and wasm_exec.js: `make build` (or
// `make wasm`) must have run, as for every browser test.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from "node:fs";
import { createReadStream } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { repoRoot, requireBuilt, useEnv, withContext } from "./harness.mjs";

const run = promisify(execFile);

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain; charset=utf-8",
};

/** Serves dir's files on 127.0.0.1 at a free port; resolves to {url, close}. */
async function serveStatic(dir) {
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!file.startsWith(dir + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": types[path.extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// Opens a Peer with the page's global Peer (page 1) or window.ModulePeer
// (page 2) against skywasm serve, and returns its ID.
async function openPeer(page, which, { key, port }) {
  return page.evaluate(
    async ({ which, key, port }) => {
      const Ctor = which === "module" ? window.ModulePeer : window.Peer;
      if (typeof Ctor !== "function") throw new Error(`no ${which} Peer on the page`);
      const peer = new Ctor({ key, host: "127.0.0.1", port, secure: false });
      try {
        return await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no open within 20 s")), 20_000);
          peer.on("open", (id) => {
            clearTimeout(timer);
            resolve(id);
          });
          peer.on("error", (err) => {
            clearTimeout(timer);
            reject(new Error(`${err.type}: ${err.message}`));
          });
        });
      } finally {
        peer.destroy();
      }
    },
    { which, key, port },
  );
}

describe("the npm package, installed from its tarball", { timeout: 300_000 }, () => {
  const env = useEnv();
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
  let tmp, project, site, tarball;

  before(
    async () => {
      requireBuilt();
      tmp = mkdtempSync(path.join(os.tmpdir(), "skywasm-package-"));
      // --ignore-scripts: prepack would run `make wasm`, which the build
      // did already; the test must not rewrite js/ while others read it.
      const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], {
        cwd: repoRoot,
        timeout: 120_000,
        maxBuffer: 16 << 20,
      });
      const [packed] = JSON.parse(stdout);
      tarball = { file: path.join(tmp, packed.filename), files: packed.files.map((f) => f.path) };

      project = path.join(tmp, "app");
      await run("mkdir", ["-p", project]);
      writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
      // From the file, with a cache of its own and no registry: no network.
      await run(
        "npm",
        [
          "install",
          "--offline",
          "--ignore-scripts",
          "--no-audit",
          "--no-fund",
          "--cache",
          path.join(tmp, "npm-cache"),
          tarball.file,
        ],
        { cwd: project, timeout: 120_000 },
      );
      site = await serveStatic(project);
    },
    { timeout: 240_000 },
  );
  after(async () => {
    await site?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("holds what a page needs and nothing else", () => {
    for (const file of pkg.files) {
      assert.ok(tarball.files.includes(file), `the tarball holds ${file}`);
    }
    for (const file of ["package.json", "LICENSE", "README.md"]) {
      assert.ok(tarball.files.includes(file), `the tarball holds ${file}`);
    }
    const unexpected = tarball.files.filter((f) => !pkg.files.includes(f) && !["package.json", "LICENSE", "README.md"].includes(f));
    assert.deepEqual(unexpected, [], "the tarball holds only package.json's files");
    const installed = JSON.parse(readFileSync(path.join(project, "node_modules", "skywasm", "package.json"), "utf8"));
    assert.equal(installed.version, pkg.version);
    assert.equal(installed.license, "Apache-2.0");
    const wasm = readFileSync(path.join(project, "node_modules", "skywasm", "js", "sdk.wasm"));
    assert.deepEqual([...wasm.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], "sdk.wasm is a WebAssembly module");
  });

  it("a plain page: node_modules/skywasm/js/skywasm.js opens a Peer against skywasm serve", { timeout: 60_000 }, async () => {
    writeFileSync(
      path.join(project, "classic.html"),
      `<!doctype html><meta charset="utf-8"><title>classic</title>
<script src="node_modules/skywasm/js/skywasm.js"></script>`,
    );
    await withContext(env, async ({ context }) => {
      const page = await context.newPage();
      await page.goto(new URL("classic.html", site.url).href);
      const id = await openPeer(page, "classic", { key: env.key, port: Number(new URL(env.url).port) });
      assert.equal(typeof id, "string");
      assert.ok(id.length > 0);
    });
  });

  it("an ES module page: import Peer from 'skywasm' through an import map", { timeout: 60_000 }, async () => {
    writeFileSync(
      path.join(project, "module.html"),
      `<!doctype html><meta charset="utf-8"><title>module</title>
<script type="importmap">{"imports": {"skywasm": "./node_modules/skywasm/js/skywasm.mjs"}}</script>
<script type="module">
import Peer, { MediaConnection } from "skywasm";
window.ModulePeer = Peer;
window.moduleShape = { peer: typeof Peer, media: typeof MediaConnection, global: typeof window.Peer };
</script>`,
    );
    await withContext(env, async ({ context }) => {
      const page = await context.newPage();
      await page.goto(new URL("module.html", site.url).href);
      await page.waitForFunction(() => window.moduleShape !== undefined);
      const shape = await page.evaluate(() => window.moduleShape);
      assert.deepEqual(shape, { peer: "function", media: "function", global: "undefined" });
      const id = await openPeer(page, "module", { key: env.key, port: Number(new URL(env.url).port) });
      assert.equal(typeof id, "string");
    });
  });

  it("a TypeScript file importing from 'skywasm' type-checks", { timeout: 120_000 }, async () => {
    writeFileSync(
      path.join(project, "app.ts"),
      `import Peer, { type MediaConnection, type DataConnection } from "skywasm";

const peer: Peer = new Peer({ key: "00000000-0000-4000-8000-000000000000", host: "127.0.0.1", port: 8080 });
peer.on("open", (id: string) => {
  const conn: DataConnection | undefined = peer.connect("other");
  conn?.on("data", (data: unknown) => console.log(id, data));
});
peer.on("call", (call: MediaConnection) => call.answer());
`,
    );
    // A mistake must fail, or the check above proves nothing.
    writeFileSync(
      path.join(project, "wrong.ts"),
      `import Peer from "skywasm";
// @ts-expect-error: key must be a string
new Peer({ key: 42 });
`,
    );
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "ES2022",
          lib: ["ES2022", "DOM"],
          module: "nodenext",
          moduleResolution: "nodenext",
          skipLibCheck: false,
          types: [],
        },
        files: ["app.ts", "wrong.ts"],
      }),
    );
    const tsc = path.join(repoRoot, "node_modules", ".bin", "tsc");
    try {
      await run(tsc, ["-p", "tsconfig.json"], { cwd: project, timeout: 100_000 });
    } catch (err) {
      assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`);
    }
  });
});
