// TURN and TLS in the browser: two pages that may only use relay candidates
// (iceTransportPolicy 'relay' through the Peer's config) call each other and
// exchange data through the server's embedded TURN, and the server's relay
// metrics rise; a page served over HTTPS with a self-signed certificate
// opens a Peer with secure: true over WSS.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { openSdkPage, useEnv, withContext } from "./harness.mjs";

/** Sums a counter's samples over its labels in the server's /metrics. */
async function metric(env, name) {
  const text = await (await fetch(new URL("metrics", env.url))).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(name + "{") || line.startsWith(name + " "))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

/** Runs in a page: the candidate types of the selected pair of pc. */
async function selectedPair(pc) {
  return T.until(async () => {
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type !== "candidate-pair" || !s.nominated || s.state !== "succeeded") continue;
      const local = stats.get(s.localCandidateId);
      const remote = stats.get(s.remoteCandidateId);
      return { local: local.candidateType, remote: remote.candidateType, protocol: local.relayProtocol ?? null };
    }
    return null;
  }, 10_000, "a selected candidate pair");
}

describe("the embedded TURN server", { timeout: 180_000 }, () => {
  const env = useEnv();

  it("relays a call and a data connection between two relay-only pages", { timeout: 120_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const relayedBefore = await metric(env, "skywasm_turn_relayed_bytes_total");
      const allocationsBefore = await metric(env, "skywasm_turn_allocations_total");
      const [a, b] = [await openSdkPage(open), await openSdkPage(open)];
      const servers = await Promise.all(
        [a, b].map((page) =>
          page.evaluate(async () => {
            window.peer = await T.openPeer({ config: { iceTransportPolicy: "relay" } });
            return window.peer.id;
          }),
        ),
      );
      const bId = servers[1];

      const started = Date.now();
      await b.evaluate(() => {
        window.peer.on("call", async (call) => {
          const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
          call.answer(local);
          window.call = call;
          call.on("stream", (s) => (window.remote = s));
        });
        window.peer.on("connection", (conn) => {
          window.conn = conn;
          conn.on("data", (d) => conn.send(`echo: ${d}`));
        });
      });
      const caller = await a.evaluate(
        async ({ bId, selectedPairSrc }) => {
          const selectedPair = eval(`(${selectedPairSrc})`);
          const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
          const call = window.peer.call(bId, local);
          const remote = await T.event(call, "stream", 20_000, "the caller's stream event");
          const pair = await selectedPair(call.getPeerConnection());
          const conn = window.peer.connect(bId);
          await T.event(conn, "open", 20_000, "the data connection's open event");
          const echoed = T.event(conn, "data", 10_000, "the echo");
          await conn.send("hello through TURN");
          return { tracks: remote.getTracks().length, pair, dataPair: await selectedPair(conn.getPeerConnection()), echo: await echoed };
        },
        { bId, selectedPairSrc: selectedPair.toString() },
      );
      const callee = await b.evaluate(async (selectedPairSrc) => {
        const selectedPair = eval(`(${selectedPairSrc})`);
        await T.until(() => window.remote, 15_000, "the callee's stream");
        const v = document.createElement("video");
        v.muted = true;
        v.srcObject = window.remote;
        await v.play();
        const frames = () => v.getVideoPlaybackQuality().totalVideoFrames;
        await T.until(() => frames() > 10, 15_000, "ten decoded frames");
        return { pair: await selectedPair(window.call.getPeerConnection()), frames: frames() };
      }, selectedPair.toString());
      console.log(
        `relayed call: caller ${JSON.stringify(caller.pair)}, callee ${JSON.stringify(callee.pair)}, ` +
          `${callee.frames} frames decoded ${Date.now() - started} ms after the call`,
      );
      assert.equal(caller.tracks, 2);
      assert.equal(caller.pair.local, "relay", "the caller's selected local candidate is relayed");
      assert.equal(callee.pair.local, "relay", "the callee's selected local candidate is relayed");
      assert.equal(caller.dataPair.local, "relay", "the data connection's local candidate is relayed");
      assert.equal(caller.echo, "echo: hello through TURN");

      const relayed = (await metric(env, "skywasm_turn_relayed_bytes_total")) - relayedBefore;
      const allocations = (await metric(env, "skywasm_turn_allocations_total")) - allocationsBefore;
      console.log(`the server relayed ${relayed} bytes in ${allocations} allocations`);
      assert.ok(allocations >= 2, `allocations rose by ${allocations}`);
      assert.ok(relayed > 100_000, `skywasm_turn_relayed_bytes_total rose by ${relayed}`);
    });
  });

  it("leaves TURN out with turn: false, so a relay-only call cannot connect", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const state = await page.evaluate(async () => {
        const a = await T.openPeer({ turn: false, config: { iceTransportPolicy: "relay" } });
        const b = await T.openPeer({ turn: false, config: { iceTransportPolicy: "relay" } });
        const conn = a.connect(b.id);
        const pc = await T.until(() => conn.getPeerConnection(), 5_000, "the PeerConnection");
        await T.sleep(3_000);
        const out = { open: conn.open, gathered: pc.iceGatheringState, ice: pc.iceConnectionState };
        a.destroy();
        b.destroy();
        return out;
      });
      assert.equal(state.open, false, `without TURN a relay-only connection opened: ${JSON.stringify(state)}`);
    });
  });
});

describe("HTTPS and WSS", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "skywasm-tls-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  const env = useEnv({
    serverArgs: () => {
      execFileSync("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1",
      ], { stdio: "ignore" });
      return ["-tls-cert", cert, "-tls-key", key];
    },
    // The certificate is self-signed: the browser is told to accept it.
    contextOptions: { ignoreHTTPSErrors: true },
  });

  it("serves the SDK over HTTPS and opens a Peer with secure: true over WSS", { timeout: 60_000 }, async () => {
    assert.match(env.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const port = Number(new URL(env.url).port);
      const got = await page.evaluate(async (port) => {
        const peer = await T.openPeer({ host: "127.0.0.1", port, secure: true });
        const out = { id: peer.id, open: peer.open, protocol: location.protocol };
        peer.destroy();
        return out;
      }, port);
      assert.equal(got.protocol, "https:");
      assert.equal(got.open, true);
      assert.ok(got.id.length > 0);
    });
  });
});
