// The p2p-media example between two pages: a call plays video both ways, and
// hanging up on either side returns both to idle. Then what the example does
// not use: a MediaConnection's localStream and replaceStream.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canvasStream, openSdkPage, useEnv, withContext } from "./harness.mjs";

/** Opens the example and waits until its peer is open; returns the page and its ID. */
async function openExample(open) {
  const page = await open("examples/p2p-media/");
  await page.locator("#state[data-state=idle]").waitFor();
  return { page, id: (await page.locator("#my-id").textContent()).trim() };
}

/** Asserts that page's remote video is playing: it has a size, its time and frame count advance. */
async function assertPlaying(page, who) {
  await page.waitForFunction(
    () => {
      const v = document.querySelector("#remote-video");
      return v.videoWidth > 0 && v.currentTime > 0;
    },
    null,
    { timeout: 15_000 },
  );
  const r = await page.evaluate(async () => {
    const v = document.querySelector("#remote-video");
    const stream = v.srcObject;
    const before = { time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames };
    await T.sleep(1_500);
    const after = { time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames };
    return {
      width: v.videoWidth,
      height: v.videoHeight,
      paused: v.paused,
      videoTracks: stream.getVideoTracks().map((t) => t.readyState),
      audioTracks: stream.getAudioTracks().map((t) => t.readyState),
      before,
      after,
    };
  });
  console.log(
    `${who}: remote video ${r.width}x${r.height}, ` +
      `${(r.after.time - r.before.time).toFixed(2)} s and ${r.after.frames - r.before.frames} frames in 1.5 s`,
  );
  assert.ok(r.width > 0 && r.height > 0, `${who}: videoWidth/Height ${r.width}x${r.height}`);
  assert.equal(r.paused, false, `${who}: the remote video is not paused`);
  assert.ok(r.after.time > r.before.time + 0.5, `${who}: currentTime advanced from ${r.before.time} to ${r.after.time}`);
  assert.ok(r.after.frames > r.before.frames + 5, `${who}: totalVideoFrames rose from ${r.before.frames} to ${r.after.frames}`);
  assert.deepEqual(r.videoTracks, ["live"], `${who}: one live remote video track`);
  assert.deepEqual(r.audioTracks, ["live"], `${who}: one live remote audio track`);
}

/** Asserts that both pages went back to idle, each having seen its call's close event. */
async function assertBothIdle(pages, closes) {
  const started = Date.now();
  for (const page of pages) {
    // skywasm promises close on both sides within a second; allow for a loaded machine.
    await page.locator("#state[data-state=idle]").waitFor({ timeout: 5_000 });
  }
  console.log(`both sides idle ${Date.now() - started} ms after hang-up`);
  for (const [i, page] of pages.entries()) {
    assert.equal(await page.locator('#log [data-event="call-close"]').count(), closes, `page ${i + 1} saw ${closes} close events`);
    assert.equal(await page.evaluate(() => document.querySelector("#remote-video").srcObject), null);
    assert.equal(await page.locator("#hang-up").isDisabled(), true);
    assert.equal(await page.locator("#call").isEnabled(), true);
  }
}

describe("the p2p-media example", { timeout: 300_000 }, () => {
  const env = useEnv();

  it("calls, plays video on both sides, and hangs up from the caller", { timeout: 90_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const a = await openExample(open);
      const b = await openExample(open);
      await startCall(a, b);
      assert.equal((await a.page.locator("#remote-peer").textContent()).trim(), b.id);
      assert.equal((await b.page.locator("#remote-peer").textContent()).trim(), a.id);

      await assertPlaying(a.page, "caller");
      await assertPlaying(b.page, "callee");

      await a.page.locator("#hang-up").click();
      await assertBothIdle([a.page, b.page], 1);
      for (const { page } of [a, b]) assert.equal(await page.locator("#errors li").count(), 0);
    });
  });

  it("hangs up from the callee, then calls again", { timeout: 90_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const a = await openExample(open);
      const b = await openExample(open);
      await startCall(a, b);
      await b.page.locator("#hang-up").click();
      await assertBothIdle([a.page, b.page], 1);

      // The other way round this time.
      await startCall(b, a);
      await assertPlaying(a.page, "callee of the second call");
      await assertPlaying(b.page, "caller of the second call");
      await a.page.locator("#hang-up").click();
      await assertBothIdle([a.page, b.page], 2);
      for (const { page } of [a, b]) assert.equal(await page.locator("#errors li").count(), 0);
    });
  });

  it("closes the call on the far side when a page goes away", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const a = await openExample(open);
      const b = await openExample(open);
      await startCall(a, b);
      await b.page.close();
      // Signaling tells the caller that the callee left (LEAVE) or ICE fails; either closes the call.
      await a.page.locator("#state[data-state=idle]").waitFor({ timeout: 15_000 });
      assert.equal(await a.page.locator('#log [data-event="call-close"]').count(), 1);
    });
  });
});

describe("MediaConnection between two SDK pages", { timeout: 120_000 }, () => {
  const env = useEnv();

  it("localStream is the stream sent; replaceStream changes what the far side gets", { timeout: 90_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const [a, b] = [await openSdkPage(open), await openSdkPage(open)];
      const bId = await b.evaluate(async () => {
        window.peer = await T.openPeer();
        window.peer.on("call", async (call) => {
          window.beforeAnswer = call.localStream;
          window.answered = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
          call.answer(window.answered);
          window.call = call;
          call.on("stream", (s) => (window.remote = s));
        });
        return window.peer.id;
      });
      const caller = await a.evaluate(async (bId) => {
        const peer = await T.openPeer();
        const local = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
        const call = peer.call(bId, local);
        window.call = call;
        await T.event(call, "stream", 20_000, "the caller's stream event");
        return { localStream: call.localStream?.id, local: local.id };
      }, bId);
      assert.equal(caller.localStream, caller.local, "the caller's localStream is the stream it called with");
      const callee = await b.evaluate(async () => {
        await T.until(() => window.remote, 15_000, "the callee's stream");
        const v = Object.assign(document.createElement("video"), { muted: true, srcObject: window.remote });
        document.body.append(v);
        await v.play();
        window.video = v;
        await T.until(() => v.videoWidth > 0, 15_000, "the callee's video size");
        return { beforeAnswer: window.beforeAnswer, localStream: window.call.localStream?.id, answered: window.answered.id, width: v.videoWidth, height: v.videoHeight };
      });
      assert.equal(callee.beforeAnswer, null, "localStream before answer");
      assert.equal(callee.localStream, callee.answered, "the callee's localStream is the stream it answered with");
      // 4:3 at any size: under load Chromium may send the camera scaled down.
      assert.equal(callee.width * 3, callee.height * 4, `the callee gets the caller's 4:3 camera first, not ${callee.width}x${callee.height}`);

      await canvasStream(a);
      const replaced = await a.evaluate(() => {
        const stream = window.canvasStream;
        window.call.replaceStream(stream);
        return { stream: stream.id, localStream: window.call.localStream?.id };
      });
      assert.equal(replaced.localStream, replaced.stream, "localStream after replaceStream is the new stream");
      await b.waitForFunction(() => window.video.videoWidth > 0 && window.video.videoWidth === window.video.videoHeight, null, { timeout: 15_000, polling: 50 });
      await a.evaluate(() => {
        clearInterval(window.canvasTimer);
        window.call.close();
      });
    });
  });
});

/** Has caller's page call callee's by ID and waits until both pages are in the call. */
async function startCall(caller, callee) {
  await caller.page.locator("#remote-id").fill(callee.id);
  await caller.page.locator("#call").click();
  await Promise.all([caller, callee].map(({ page }) => page.locator("#state[data-state=in-call]").waitFor()));
}
