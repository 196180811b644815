// A page and the native Go SDK talk to each other: cmd/echopeer
// echoes every value of a 'binary' DataConnection and answers a call with a
// synthetic video and audio stream.

import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { openSdkPage, startEchoPeer, useEnv, withContext } from "./harness.mjs";

describe("a page and the native Go echo peer", { timeout: 600_000 }, () => {
  const env = useEnv();
  let echo;

  // Builds bin/echopeer first if it is missing, which can take minutes.
  before(async () => {
    echo = await startEchoPeer(env, "echo-bot");
  }, { timeout: 360_000 });

  it("binary: every value comes back equal", { timeout: 120_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await page.evaluate(async (echoId) => {
        const peer = (window.peer = await T.openPeer());
        const conn = peer.connect(echoId, { serialization: "binary", label: "echo", metadata: { from: "page" } });
        await T.event(conn, "open", 15_000, "the DataConnection's open event");
        const received = [];
        conn.on("data", (data) => received.push(data));
        const cases = T.cases("binary");
        const results = [];
        for (const c of cases) results.push(await T.deadline(conn.send(c.value), 20_000, `conn.send(${c.name})`));
        await T.until(() => received.length >= cases.length, 30_000, `${cases.length} echoes`).catch(() => {});
        return {
          serialization: conn.serialization,
          results,
          cases: await Promise.all(cases.map(async (c) => ({ group: c.group, name: c.name, expect: await T.describe(c.expect) }))),
          got: await Promise.all(received.map((v) => T.describe(v))),
        };
      }, echo.id);
      assert.equal(got.serialization, "binary");
      const problems = [];
      got.cases.forEach((c, i) => {
        if (got.results[i] !== true) problems.push(`${c.group} / ${c.name}: send resolved ${got.results[i]}`);
        if (i >= got.got.length) return;
        try {
          assert.deepStrictEqual(got.got[i], c.expect);
        } catch {
          problems.push(`${c.group} / ${c.name}:\n    want ${JSON.stringify(c.expect)}\n    got  ${JSON.stringify(got.got[i])}`);
        }
      });
      if (got.got.length !== got.cases.length) problems.push(`${got.got.length} echoes, want ${got.cases.length}`);
      assert.equal(problems.length, 0, `${problems.length} of ${got.cases.length} values did not come back equal:\n${problems.join("\n")}`);
    });
  });

  it("a call gets the echo peer's video and audio playing", { timeout: 90_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const r = await page.evaluate(async (echoId) => {
        const peer = (window.peer = await T.openPeer());
        const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const call = (window.call = peer.call(echoId, local));
        const stream = await T.event(call, "stream", 20_000, "the call's stream event");
        const video = document.createElement("video");
        video.autoplay = video.playsInline = video.muted = true;
        document.body.append(video);
        video.srcObject = stream;
        await T.until(() => video.videoWidth > 0 && video.currentTime > 0, 15_000, "the remote video to play");
        const before = { time: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames };
        await T.sleep(1_500);
        const after = { time: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames };
        const closed = T.event(call, "close", 5_000, "the call's close event");
        call.close(true);
        await closed;
        return {
          width: video.videoWidth,
          height: video.videoHeight,
          video: stream.getVideoTracks().length,
          audio: stream.getAudioTracks().length,
          before,
          after,
        };
      }, echo.id);
      console.log(
        `echo peer's video: ${r.width}x${r.height}, ${(r.after.time - r.before.time).toFixed(2)} s and ` +
          `${r.after.frames - r.before.frames} frames in 1.5 s`,
      );
      assert.ok(r.width > 0 && r.height > 0);
      assert.ok(r.after.time > r.before.time + 0.5, `currentTime advanced from ${r.before.time} to ${r.after.time}`);
      assert.ok(r.after.frames > r.before.frames, `totalVideoFrames rose from ${r.before.frames} to ${r.after.frames}`);
      assert.equal(r.video, 1, "one video track");
      assert.equal(r.audio, 1, "one audio track");
    });
  });
});
