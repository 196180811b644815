// Rooms between three pages: the room example in SFU mode and then in mesh
// mode — every page plays the other two's fake cameras, decoded frames rise,
// chat reaches the others, replaceStream reaches them, and a page that leaves
// leaves the others' grids — and room.send carrying every value a
// DataConnection carries, and sends in a tight loop.
//
// One browser context and three pages serve every case, in order: each page
// loads 7.6 MB of wasm, and three pages on two cores are what the machine
// affords. The cases are subtests, so that one failing (SFU, on a server
// without the SFU) still lets the next run; each starts by taking the pages
// back to idle.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canvasStream, useEnv, withContext } from "./harness.mjs";

/** Opens the room example and waits until its peer is open; returns the page and its ID. */
async function openExample(open) {
  const page = await open("examples/room/");
  await page.locator("#state[data-state=idle]").waitFor();
  return { page, id: (await page.locator("#my-id").textContent()).trim() };
}

/** Leaves whatever room the page is in and waits until it is idle again. */
async function backToIdle({ page }) {
  if (await page.locator("#leave").isEnabled()) await page.locator("#leave").click();
  await page.locator("#state[data-state=idle]").waitFor({ timeout: 10_000 });
}

/** The peer IDs of the remote videos in page's grid, sorted. */
async function gridIds(page) {
  const ids = await page.locator("#remote-videos video[data-peer-id]").evaluateAll((vs) => vs.map((v) => v.dataset.peerId));
  return ids.sort();
}

/** Resolves once every remote video of page plays (has a size and a moving clock) and there are n of them. */
async function waitPlaying(page, n, timeout) {
  await page.waitForFunction(
    (n) => {
      const videos = [...document.querySelectorAll("#remote-videos video[data-peer-id]")];
      return videos.length === n && videos.every((v) => v.videoWidth > 0 && v.currentTime > 0 && !v.paused);
    },
    n,
    { timeout, polling: 50 },
  );
}

/**
 * Samples page's remote videos and the inbound video RTP of its room's
 * PeerConnection(s) twice, 1.5 s apart: each video's frames and each RTP
 * stream's framesDecoded.
 */
async function sampleMedia(page) {
  return page.evaluate(async () => {
    const room = Object.values(window.peer.rooms)[0];
    const pcs = typeof room.getPeerConnection === "function" ? [room.getPeerConnection()] : Object.values(room.getPeerConnections());
    const sample = async () => {
      const decoded = {};
      for (const [i, pc] of pcs.entries()) {
        if (!pc) continue;
        (await pc.getStats()).forEach((r) => {
          if (r.type === "inbound-rtp" && r.kind === "video") decoded[`${i}/${r.ssrc}`] = r.framesDecoded ?? 0;
        });
      }
      const frames = {};
      for (const v of document.querySelectorAll("#remote-videos video[data-peer-id]")) {
        frames[v.dataset.peerId] = v.getVideoPlaybackQuality().totalVideoFrames;
      }
      return { decoded, frames };
    };
    const before = await sample();
    await T.sleep(1_500);
    const after = await sample();
    return { pcs: pcs.length, before, after };
  });
}

/** Asserts that every remote video and every inbound video RTP stream of the sample advanced. */
function assertAdvancing(sample, who, streams) {
  const { before, after } = sample;
  const rose = Object.keys(after.decoded).map((k) => (after.decoded[k] ?? 0) - (before.decoded[k] ?? 0));
  const frames = Object.keys(after.frames).map((k) => after.frames[k] - (before.frames[k] ?? 0));
  console.log(`${who}: ${sample.pcs} PeerConnection(s); framesDecoded rose by ${rose.join(", ")}; video frames by ${frames.join(", ")} in 1.5 s`);
  assert.ok(rose.filter((n) => n > 5).length >= streams, `${who}: ${streams} inbound video streams decode frames: rose by ${rose.join(", ")}`);
  assert.equal(frames.length, streams, `${who}: ${streams} remote videos`);
  for (const n of frames) assert.ok(n > 5, `${who}: a remote video showed ${n} frames in 1.5 s`);
}

/**
 * The room example's scenario in mode: the three pages join one fresh room
 * at once, see and hear each other, chat, and the last one leaves.
 */
async function roomScenario(members, mode) {
  const name = `${mode}-room-${Math.random().toString(36).slice(2, 8)}`;
  for (const m of members) await backToIdle(m);
  const ids = members.map((m) => m.id);

  const started = Date.now();
  await Promise.all(
    members.map(async ({ page }) => {
      await page.locator(`#mode-${mode}`).check();
      await page.locator("#room-name").fill(name);
      await page.locator("#join").click();
    }),
  );
  await Promise.all(members.map(({ page }) => page.locator("#state[data-state=in-room]").waitFor()));
  const inRoom = Date.now() - started;
  await Promise.all(members.map(({ page }) => waitPlaying(page, 2, 30_000)));
  console.log(`${mode}: all three pages in the room after ${inRoom} ms, playing two remote videos each after ${Date.now() - started} ms`);

  // Each grid shows the other two, labelled by peer ID.
  for (const [i, { page, id }] of members.entries()) {
    assert.deepEqual(await gridIds(page), ids.filter((x) => x !== id).sort(), `page ${i + 1}'s grid`);
    const labels = await page.locator("#remote-videos figcaption").allTextContents();
    assert.deepEqual(labels.map((s) => s.trim()).sort(), ids.filter((x) => x !== id).sort(), `page ${i + 1}'s labels`);
  }

  // The room object as the API describes it.
  for (const [i, { page, id }] of members.entries()) {
    const r = await page.evaluate(
      ({ name, mode }) => {
        // Ordered as Array.prototype.sort orders the IDs in Node.
        const byPeerId = (a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0);
        const rooms = window.peer.rooms;
        const room = rooms[name];
        const out = {
          names: Object.keys(rooms),
          name: room.name,
          members: [...room.members].sort(),
          same: window.peer.joinRoom(name, { mode }) === room,
          isMesh: room instanceof Peer.MeshRoom,
          isSFU: room instanceof Peer.SFURoom,
        };
        if (mode === "sfu") {
          out.remoteStreams = Object.entries(room.remoteStreams)
            .map(([sid, s]) => ({ keyIsId: sid === s.id, peerId: s.peerId, tracks: s.getTracks().length }))
            .sort(byPeerId);
          out.pc = room.getPeerConnection() instanceof RTCPeerConnection;
        } else {
          out.connections = Object.entries(room.connections)
            .map(([peerId, calls]) => ({ peerId, n: calls.length, remoteId: calls[0].remoteId, type: calls[0].type, open: calls[0].open }))
            .sort(byPeerId);
          out.pcs = Object.entries(room.getPeerConnections())
            .map(([peerId, pc]) => [peerId, pc instanceof RTCPeerConnection])
            .sort();
        }
        return out;
      },
      { name, mode },
    );
    const others = ids.filter((x) => x !== id).sort();
    assert.deepEqual(r.names, [name], `page ${i + 1}: peer.rooms`);
    assert.equal(r.name, name);
    assert.deepEqual(r.members, others, `page ${i + 1}: room.members`);
    assert.equal(r.same, true, `page ${i + 1}: joinRoom of the same name returns the same room`);
    assert.deepEqual([r.isMesh, r.isSFU], [mode === "mesh", mode === "sfu"], `page ${i + 1}: the room's class`);
    if (mode === "sfu") {
      assert.deepEqual(
        r.remoteStreams,
        others.map((peerId) => ({ keyIsId: true, peerId, tracks: 2 })),
        `page ${i + 1}: room.remoteStreams`,
      );
      assert.equal(r.pc, true, `page ${i + 1}: getPeerConnection()`);
    } else {
      assert.deepEqual(
        r.connections,
        others.map((peerId) => ({ peerId, n: 1, remoteId: peerId, type: "media", open: true })),
        `page ${i + 1}: room.connections`,
      );
      assert.deepEqual(r.pcs, others.map((peerId) => [peerId, true]), `page ${i + 1}: getPeerConnections()`);
    }
  }

  // Media flows: decoded frames rise on every inbound video.
  for (const [i, { page }] of members.entries()) {
    assertAdvancing(await sampleMedia(page), `${mode} page ${i + 1}`, 2);
  }

  // Chat reaches the others, not the sender.
  const lines = [`hello from page 1 in ${mode} ✓`, `page 2 in ${mode} here 🎉`];
  for (const [i, text] of lines.entries()) {
    await members[i].page.locator("#message").fill(text);
    await members[i].page.locator("#send").click();
    await members[i].page.locator("#messages li.mine", { hasText: text }).waitFor();
  }
  for (const [i, text] of lines.entries()) {
    for (const [j, { page }] of members.entries()) {
      if (j === i) continue;
      await page.locator(`#messages li.theirs[data-src="${members[i].id}"]`, { hasText: text }).waitFor({ timeout: 5_000 });
    }
    assert.equal(await members[i].page.locator("#messages li.theirs", { hasText: text }).count(), 0, "the sender does not get its own line");
  }

  // replaceStream: page 1 sends a square canvas instead of its 4:3 camera; the others' tiles of it turn square.
  const replacing = Date.now();
  await canvasStream(members[0].page);
  await members[0].page.evaluate((name) => {
    const stream = window.canvasStream;
    for (const track of document.querySelector("#local-video").srcObject.getAudioTracks()) stream.addTrack(track);
    window.peer.rooms[name].replaceStream(stream);
  }, name);
  for (const { page } of members.slice(1)) {
    await page.waitForFunction(
      (id) => {
        const v = document.querySelector(`#remote-videos video[data-peer-id="${id}"]`);
        return v?.videoWidth > 0 && v.videoWidth === v.videoHeight;
      },
      members[0].id,
      { timeout: 10_000, polling: 50 },
    );
  }
  console.log(`${mode}: the others showed page 1's replaced stream ${Date.now() - replacing} ms after replaceStream`);
  await members[0].page.evaluate(() => clearInterval(window.canvasTimer));

  // The third page leaves: its grid empties, the others' shrink to each other.
  const leaving = Date.now();
  await members[2].page.locator("#leave").click();
  await members[2].page.locator("#state[data-state=idle]").waitFor({ timeout: 5_000 });
  assert.equal(await members[2].page.locator("#remote-videos video").count(), 0, "the leaver's grid is empty");
  assert.deepEqual(await members[2].page.evaluate(() => Object.keys(window.peer.rooms)), [], "the leaver's peer.rooms");
  for (const [i, { page }] of members.slice(0, 2).entries()) {
    await page.waitForFunction(
      (gone) => !document.querySelector(`#remote-videos [data-peer-id="${gone}"]`),
      members[2].id,
      { timeout: 5_000 },
    );
    assert.deepEqual(await gridIds(page), [members[1 - i].id], `page ${i + 1}'s grid after page 3 left`);
    assert.deepEqual(
      await page.evaluate((name) => window.peer.rooms[name].members, name),
      [members[1 - i].id],
      `page ${i + 1}'s members after page 3 left`,
    );
  }
  console.log(`${mode}: both remaining grids shrank ${Date.now() - leaving} ms after page 3 left`);
  // The two that stay still see each other.
  await Promise.all(members.slice(0, 2).map(({ page }) => waitPlaying(page, 1, 10_000)));

  if (mode === "sfu") {
    // The third page comes back: the SFU sends its tracks to the others on the m-lines its first visit left, so
    // their PeerConnections keep as many transceivers, and they play it again under its peer ID.
    const transceivers = () =>
      Promise.all(members.slice(0, 2).map(({ page }) => page.evaluate((name) => window.peer.rooms[name].getPeerConnection().getTransceivers().length, name)));
    const before = await transceivers();
    const rejoining = Date.now();
    await members[2].page.locator("#join").click();
    await members[2].page.locator("#state[data-state=in-room]").waitFor();
    // Page 1's canvas no longer draws (see above), so only page 3's own video is watched.
    for (const { page } of members.slice(0, 2)) {
      await page.waitForFunction(
        (id) => {
          const v = document.querySelector(`#remote-videos video[data-peer-id="${id}"]`);
          return v?.videoWidth > 0 && !v.paused && v.getVideoPlaybackQuality().totalVideoFrames > 15;
        },
        members[2].id,
        { timeout: 30_000, polling: 50 },
      );
    }
    console.log(`${mode}: page 3 played again at the others ${Date.now() - rejoining} ms after it rejoined`);
    for (const [i, { page, id }] of members.entries()) {
      assert.deepEqual(await gridIds(page), ids.filter((x) => x !== id).sort(), `page ${i + 1}'s grid after page 3 rejoined`);
    }
    assert.deepEqual(await transceivers(), before, "pages 1 and 2 have as many transceivers after page 3 rejoined (m-lines reused)");
  }

  for (const m of members) await backToIdle(m);
  for (const [i, { page }] of members.entries()) {
    const errors = await page.locator("#errors li").allTextContents();
    assert.deepEqual(errors, [], `page ${i + 1} showed no errors`);
  }
}

/**
 * room.send between three pages, through the SDK's API directly: every value
 * of a DataConnection's binary serialization arrives at the two others in
 * order and as over a DataConnection; the sender gets none of its own; the
 * log has the joins and the data; over 20 MB throws; an empty name is
 * room-error. The data room stays open for tightLoop.
 */
async function dataScenario(members) {
  const name = `data-room-${Math.random().toString(36).slice(2, 8)}`;
  for (const m of members) await backToIdle(m);
  const pages = members.map((m) => m.page);

  // An empty name: null, and the peer's error event of type room-error.
  const empty = await pages[0].evaluate(async () => {
    const error = T.event(window.peer, "error", 5_000, "the room-error");
    const room = window.peer.joinRoom("", { mode: "mesh" });
    const err = await error;
    return { room, type: err.type, isError: err instanceof Error };
  });
  assert.deepEqual(empty, { room: null, type: "room-error", isError: true });

  // Join without media: data only.
  await Promise.all(
    pages.map((page) =>
      page.evaluate(async (name) => {
        window.received = [];
        const room = (window.dataRoom = window.peer.joinRoom(name));
        room.on("data", (message) => window.received.push(message));
        await T.event(room, "open", 15_000, "the room's open event");
      }, name),
    ),
  );
  await Promise.all(
    pages.map((page) => page.evaluate(() => T.until(() => window.dataRoom.members.length === 2, 15_000, "two other members"))),
  );

  // Every value of a DataConnection's binary serialization (T.cases), the
  // large ones included. The page paces them itself, 150 ms apart and 1.5 s
  // after a value of hundreds of KB: this case is about the values;
  // tightLoop is about the SDK's own pacing, which the server refuses after
  // a large value (see tightLoop).
  const started = Date.now();
  const sent = await pages[0].evaluate(async () => {
    const cases = T.cases("binary");
    for (const c of cases) {
      window.dataRoom.send(c.value);
      await T.sleep(c.name.includes("(chunked)") ? 1_500 : 150);
    }
    return Promise.all(cases.map(async (c) => ({ group: c.group, name: c.name, expect: await T.describe(c.expect) })));
  });
  const total = sent.length;
  const got = await Promise.all(
    pages.slice(1).map((page) =>
      page.evaluate(async (total) => {
        await T.until(() => window.received.length >= total, 30_000, `${total} messages`).catch(() => {});
        return {
          srcs: [...new Set(window.received.map((m) => m.src))],
          values: await Promise.all(window.received.slice(0, total).map((m) => T.describe(m.data))),
          n: window.received.length,
        };
      }, total),
    ),
  );
  const seconds = (Date.now() - started) / 1000;
  console.log(`room.send: ${total} values, paced by the page, reached both others in ${seconds.toFixed(1)} s`);
  for (const [i, g] of got.entries()) {
    const who = `page ${i + 2}`;
    assert.equal(g.n, total, `${who} got ${g.n} messages, want ${total}`);
    assert.deepEqual(g.srcs, [members[0].id], `${who}: every message's src is the sender`);
    const problems = [];
    sent.forEach((c, k) => {
      try {
        assert.deepStrictEqual(g.values[k], c.expect);
      } catch {
        problems.push(`${c.group} / ${c.name}:\n    want ${JSON.stringify(c.expect)}\n    got  ${JSON.stringify(g.values[k])}`);
      }
    });
    assert.equal(problems.length, 0, `${who}: ${problems.length} of ${sent.length} values differ:\n${problems.join("\n")}`);
  }
  // The sender got none of its own: wait a little for a stray one.
  await pages[0].evaluate(() => T.sleep(300));
  assert.equal(await pages[0].evaluate(() => window.received.length), 0, "the sender does not get its own messages");

  // getLog: the log event brings the joins and the data, as SkyWay's JSON strings.
  const logged = await pages[1].evaluate(async () => {
    const log = T.event(window.dataRoom, "log", 5_000, "the log event");
    window.dataRoom.getLog();
    const entries = (await log).map((text) => JSON.parse(text));
    return { types: [...new Set(entries.map((e) => e.messageType))].sort(), srcs: [...new Set(entries.map((e) => e.message.src))].length, n: entries.length };
  });
  console.log(`room.getLog: ${logged.n} entries`);
  assert.deepEqual(logged.types, ["ROOM_DATA", "ROOM_USER_JOIN"], "the log holds joins and data");
  assert.equal(logged.srcs, 3, "the log names the three members");

  // Over 20 MB throws at once, with room-error; nothing of it is sent.
  const over = await pages[0].evaluate(() => {
    const out = [];
    const limit = 20 * 1024 * 1024;
    for (const [what, value] of [
      ["ArrayBuffer", new ArrayBuffer(limit + 1)],
      ["Blob", new Blob([new Uint8Array(limit + 1)])],
      ["object holding a large string", { text: "x".repeat(limit + 1) }],
    ]) {
      try {
        window.dataRoom.send(value);
        out.push({ what, threw: false });
      } catch (err) {
        out.push({ what, threw: true, isError: err instanceof Error, type: err.type });
      }
    }
    window.dataRoom.send("after the refusals");
    return out;
  });
  for (const r of over) assert.deepEqual(r, { what: r.what, threw: true, isError: true, type: "room-error" });
  for (const page of pages.slice(1)) {
    const last = await page.evaluate(async (total) => {
      await T.until(() => window.received.length > total, 5_000, "the message after the refusals");
      return { n: window.received.length, data: window.received.at(-1).data };
    }, total);
    assert.deepEqual(last, { n: total + 1, data: "after the refusals" });
  }

}

/**
 * Sends in a tight loop in the data room of dataScenario: a numbered series
 * of small values, then 1 MiB values back to back with small ones. The SDK
 * queues them 120 ms apart; every one must arrive, in order.
 *
 * Known to fail (the server drops some with signaling-limited): the SDK
 * spaces frames when it queues them for the socket, the server measures
 * the gap between complete arrivals, and a large frame's transfer time or a
 * busy page's late write brings two frames closer than 100 ms.
 */
async function tightLoop(members) {
  const pages = members.map((m) => m.page);
  const before = await Promise.all(pages.slice(1).map((page) => page.evaluate(() => window.received.length)));
  await pages[0].evaluate(() => {
    window.peerErrors = [];
    window.peer.on("error", (err) => window.peerErrors.push(`${err.type}: ${err.message}`));
    const big = T.bytes(1 << 20, 11).buffer;
    for (let i = 0; i < 20; i++) window.dataRoom.send({ seq: i });
    for (let i = 0; i < 3; i++) {
      window.dataRoom.send({ large: i, bytes: big });
      window.dataRoom.send({ small: i });
    }
  });
  for (const [i, page] of pages.slice(1).entries()) {
    const got = await page.evaluate(async (from) => {
      await T.until(() => window.received.length >= from + 26, 15_000, "26 messages").catch(() => {});
      const what = (d) => ("seq" in d ? `seq ${d.seq}` : "large" in d ? `large ${d.large} (${d.bytes.byteLength} bytes)` : `small ${d.small}`);
      return window.received.slice(from).map((m) => what(m.data));
    }, before[i]);
    const errors = await pages[0].evaluate(() => window.peerErrors);
    assert.deepEqual(
      got,
      [
        ...Array.from({ length: 20 }, (_, i) => `seq ${i}`),
        ...["large 0", "small 0", "large 1", "small 1", "large 2", "small 2"].map((s) => (s.startsWith("large") ? `${s} (1048576 bytes)` : s)),
      ],
      `page ${i + 2} got every message; the sender's peer errors: ${JSON.stringify(errors)}`,
    );
  }
}

/** Leaves the data room on every page. */
async function leaveDataRoom(members) {
  await Promise.all(
    members.map(({ page }) =>
      page.evaluate(async () => {
        if (!window.dataRoom) return;
        const closed = T.event(window.dataRoom, "close", 5_000, "the room's close event");
        window.dataRoom.close();
        await closed;
        window.dataRoom = undefined;
      }),
    ),
  );
}

describe("rooms", { timeout: 600_000 }, () => {
  const env = useEnv();

  it("three pages of the room example: SFU, then mesh, then room.send", { timeout: 540_000 }, async (t) => {
    await withContext(env, async ({ open, pages }) => {
      const opened = Date.now();
      const members = [];
      for (let i = 0; i < 3; i++) members.push(await openExample(open));
      console.log(`three room pages open in ${Date.now() - opened} ms`);

      // A failing step prints the pages' consoles; the next step still runs.
      const step = (name, fn) =>
        t.test(name, async () => {
          try {
            await fn();
          } catch (err) {
            for (const p of pages) console.log(`--- ${p.name}: console, last lines\n${p.console.slice(-40).join("\n")}`);
            console.log(`--- server log, last lines\n${env.server.log.slice(-40).join("\n")}`);
            throw err;
          }
        });
      await step("SFU: every page plays the other two, chat reaches them, a leaver leaves their grids", () =>
        roomScenario(members, "sfu"),
      );
      await step("mesh: every page plays the other two, chat reaches them, a leaver leaves their grids", () =>
        roomScenario(members, "mesh"),
      );
      await step("room.send: every value arrives as over a DataConnection, to the others only; over 20 MB throws", () =>
        dataScenario(members),
      );
      await step("room.send in a tight loop: every message arrives, in order", () => tightLoop(members));
      await step("after leaving every room, the SDK holds nothing of them", async () => {
        await leaveDataRoom(members);
        for (const [i, { page }] of members.entries()) {
          // One handle: the Peer. Rooms and the mesh calls read through room.connections have left the table.
          const stats = await page.evaluate(() => T.until(() => Peer.debugStats().handles === 1 && Peer.debugStats(), 5_000, "one handle").catch(() => Peer.debugStats()));
          console.log(`page ${i + 1} after leaving: ${stats.handles} handle(s), ${stats.goroutines} goroutines`);
          assert.equal(stats.handles, 1, `page ${i + 1}: the Peer's handle only`);
          assert.deepEqual(await page.evaluate(() => window.peer.rooms), {}, `page ${i + 1}: peer.rooms`);
        }
      });
    });
  });
});
