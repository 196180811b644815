// SkyWay 4.4.5's event semantics, one test per place skywasm drifted from
// them (src/peer.js, src/peer/socket.js, src/peer/negotiator.js, *Room.js):
// open once per Peer, the events of a lost socket and of destroy(), the
// connections of bad IDs and of nobody, receive options in the SDP, the room
// log's shape, mesh calls' own events, and the properties pages read.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openSdkPage, useEnv, withContext } from "./harness.mjs";

/**
 * Installed before the SDK loads: records every WebSocket the page opens, so
 * a test can drop the signaling socket as a network blip would.
 */
function recordSockets() {
  window.sockets = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.sockets.push(this);
    }
  };
}

/** Records the named events of emitter into a list, as "name" or "name:arg". */
function recorderSource() {
  window.record = (emitter, names) => {
    const seen = [];
    for (const name of names) {
      emitter.on(name, (arg) => seen.push(name === "error" ? `error:${arg.type}:${arg.message}` : name));
    }
    return seen;
  };
}

describe("SkyWay's semantics", { timeout: 600_000 }, () => {
  const env = useEnv();

  it("open fires once: a transparent reconnection emits disconnected, socket-error, reconnected; reconnect() opens again", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ context, open }) => {
      await context.addInitScript(recordSockets);
      await context.addInitScript(recorderSource);
      const page = await openSdkPage(open);
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        const seen = window.record(peer, ["open", "disconnected", "error", "reconnected", "close"]);
        // The network drops the signaling socket: the SDK reconnects by itself.
        // Not T.event: the socket-error that comes first is expected here.
        const reconnected = T.deadline(new Promise((resolve) => peer.once("reconnected", resolve)), 20_000, "reconnected");
        window.sockets.at(-1).close();
        const sameId = (await reconnected) === peer.id;
        await T.sleep(500);
        const afterBlip = [...seen];
        // An explicit disconnect and reconnect: SkyWay's open again.
        const reopened = T.event(peer, "open", 20_000, "open after reconnect()");
        peer.disconnect();
        await T.until(() => !peer.open, 5_000, "closed by disconnect");
        peer.reconnect();
        await reopened;
        await T.sleep(300);
        return { afterBlip, sameId, all: seen, open: peer.open };
      });
      assert.deepEqual(got.afterBlip, ["disconnected", "error:socket-error:Lost connection to server.", "reconnected"]);
      assert.ok(got.sameId, "reconnected carries the same ID");
      assert.deepEqual(got.all.slice(3), ["disconnected", "open"], "disconnect() then reconnect(): disconnected, open");
      assert.equal(got.open, true);
    });
  });

  it("destroy() emits close, then disconnected, as SkyWay's destroy did (_cleanup, then disconnect)", { timeout: 30_000 }, async () => {
    await withContext(env, async ({ context, open }) => {
      await context.addInitScript(recorderSource);
      const page = await openSdkPage(open);
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        const seen = window.record(peer, ["close", "disconnected", "error"]);
        peer.destroy();
        await T.until(() => seen.length >= 2, 5_000, "close and disconnected");
        await T.sleep(300);
        return seen;
      });
      assert.deepEqual(got, ["close", "disconnected"]);
    });
  });

  it("call and connect return a connection for any ID; nobody (or a bad ID) is peer-unavailable on the Peer, with no close", { timeout: 45_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        const out = {};
        for (const id of ["", "bad id!", `nobody-${Date.now()}`]) {
          for (const method of ["call", "connect"]) {
            const error = T.event(peer, "error", 10_000, `the peer's error for ${method}(${JSON.stringify(id)})`);
            const conn = method === "call" ? peer.call(id) : peer.connect(id);
            const own = [];
            conn.on("close", () => own.push("close"));
            conn.on("error", (err) => own.push(`error:${err.type}`));
            const err = await error;
            await T.sleep(800);
            out[`${method}(${JSON.stringify(id)})`] = {
              kind: conn instanceof Peer.MediaConnection ? "media" : conn instanceof Peer.DataConnection ? "data" : String(conn),
              type: err.type,
              own: [...own], // before this loop's close() adds to it
              listed: peer.connections[id]?.includes(conn) ?? false,
            };
            conn.close();
          }
        }
        return out;
      });
      for (const [what, r] of Object.entries(got)) {
        assert.equal(r.kind, what.startsWith("call") ? "media" : "data", `${what} returns a connection`);
        assert.equal(r.type, "peer-unavailable", `${what}: the peer's error`);
        assert.deepEqual(r.own, [], `${what}: the connection emitted nothing`);
        assert.equal(r.listed, true, `${what}: in peer.connections`);
      }
    });
  });

  it("videoReceiveEnabled and audioReceiveEnabled shape the offer as SkyWay's negotiator did", { timeout: 45_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        peer.on("error", () => {}); // peer-unavailable: nobody answers these calls
        const av = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const audio = new MediaStream(av.getAudioTracks());
        // The direction of each m= section of the offer, by kind: "audio:sendrecv video:recvonly".
        const offer = async (stream, options) => {
          const conn = peer.call(`nobody-${Math.random().toString(36).slice(2)}`, stream, options);
          await T.until(() => conn.getPeerConnection()?.localDescription, 5_000, "the offer");
          const sdp = conn.getPeerConnection().localDescription.sdp;
          const sections = sdp.split(/^m=/m).slice(1);
          const out = sections.map((m) => `${m.split(" ")[0]}:${/a=(sendrecv|sendonly|recvonly|inactive)/.exec(m)?.[1]}`);
          conn.close();
          return out.join(" ");
        };
        return {
          audioOnly: await offer(audio),
          audioOnlyAsksVideo: await offer(audio, { videoReceiveEnabled: true }),
          noStream: await offer(null),
          noStreamAudioOnly: await offer(null, { audioReceiveEnabled: true }),
          bothWithFalse: await offer(av, { videoReceiveEnabled: false }),
        };
      });
      assert.deepEqual(got, {
        audioOnly: "audio:sendrecv",
        audioOnlyAsksVideo: "audio:sendrecv video:recvonly",
        noStream: "audio:recvonly video:recvonly",
        noStreamAudioOnly: "audio:recvonly",
        bothWithFalse: "audio:sendrecv video:sendrecv",
      });
    });
  });

  it("a call's properties: peer, remoteStream, closed connections kept; peer.options as SkyWay kept them; answer takes receive options", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const [a, b] = [await openSdkPage(open), await openSdkPage(open)];
      const bId = await b.evaluate(async () => {
        window.peer = await T.openPeer();
        window.peer.on("call", async (call) => {
          const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
          call.answer(stream, { videoReceiveEnabled: false, audioReceiveEnabled: true });
        });
        return window.peer.id;
      });
      const got = await a.evaluate(async (bId) => {
        const peer = await T.openPeer();
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const call = peer.call(bId, stream);
        const before = call.remoteStream;
        const remote = await T.event(call, "stream", 20_000, "the stream event");
        const closed = T.event(call, "close", 5_000, "close");
        call.close(true);
        await closed;
        const o = peer.options;
        return {
          peer: call.peer === bId && call.remoteId === bId,
          before: String(before),
          remoteStream: call.remoteStream === remote,
          keptClosed: peer.connections[bId]?.includes(call) && peer.getConnection(bId, call.id) === call,
          open: call.open,
          options: {
            token: typeof o.token === "string" && o.token.length > 0,
            secure: "secure" in o && o.secure === undefined,
            turn: o.turn,
            debug: o.debug,
            config: !!o.config && Array.isArray(o.config.iceServers),
            dispatcher: [typeof o.dispatcherHost, typeof o.dispatcherPort, typeof o.dispatcherSecure],
          },
        };
      }, bId);
      assert.deepEqual(got, {
        peer: true,
        before: "undefined",
        remoteStream: true,
        keptClosed: true,
        open: false,
        options: { token: true, secure: true, turn: true, debug: 2, config: true, dispatcher: ["string", "number", "boolean"] },
      });
    });
  });

  it("room log: an array of JSON strings, each {messageType, message, timestamp}", { timeout: 45_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        const room = peer.joinRoom(`log-${Date.now()}`);
        await T.event(room, "open", 10_000, "the room's open event");
        room.send({ hello: 1 });
        await T.sleep(300);
        const log = T.event(room, "log", 10_000, "the log event");
        room.getLog();
        const logs = await log;
        return { strings: Array.isArray(logs) && logs.every((l) => typeof l === "string"), parsed: logs.map((l) => JSON.parse(l)) };
      });
      assert.equal(got.strings, true, "an array of strings");
      assert.ok(got.parsed.length >= 2, `a join and the data: ${JSON.stringify(got.parsed)}`);
      for (const e of got.parsed) {
        assert.deepEqual(Object.keys(e).sort(), ["message", "messageType", "timestamp"]);
        assert.equal(typeof e.timestamp, "number");
        assert.equal(typeof e.message.src, "string");
      }
      assert.deepEqual(got.parsed.map((e) => e.messageType).slice(0, 2), ["ROOM_USER_JOIN", "ROOM_DATA"]);
      // room.send's values travel packed: the log keeps their size, not the data.
      assert.ok(got.parsed[1].message.size > 0, `the data's size: ${JSON.stringify(got.parsed[1])}`);
    });
  });

  it("a mesh room's calls emit their own stream and close", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const [a, b] = [await openSdkPage(open), await openSdkPage(open)];
      const name = `mesh-${Date.now()}`;
      await a.evaluate(async (name) => {
        const peer = await T.openPeer();
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const room = peer.joinRoom(name, { stream });
        await T.event(room, "open", 10_000, "a's room open");
        window.callEvents = [];
        window.roomStream = null;
        room.on("stream", (s) => (window.roomStream = s));
        // Take the call object as soon as it is listed, before its media can arrive.
        window.watch = setInterval(() => {
          for (const calls of Object.values(room.connections)) {
            for (const call of calls) {
              if (call.watched) continue;
              call.watched = true;
              call.on("stream", (s) => window.callEvents.push(["stream", s]));
              call.on("close", () => window.callEvents.push(["close"]));
            }
          }
        }, 2);
      }, name);
      await b.evaluate(async (name) => {
        const peer = await T.openPeer();
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        window.room = peer.joinRoom(name, { stream });
        await T.event(window.room, "open", 10_000, "b's room open");
      }, name);
      const streamed = await a.evaluate(async () => {
        await T.until(() => window.callEvents.length > 0 && window.roomStream, 20_000, "the call's stream event");
        return { kind: window.callEvents[0][0], same: window.callEvents[0][1] === window.roomStream };
      });
      assert.deepEqual(streamed, { kind: "stream", same: true });
      await b.evaluate(() => window.room.close());
      const closed = await a.evaluate(async () => {
        await T.until(() => window.callEvents.some(([e]) => e === "close"), 10_000, "the call's close event");
        clearInterval(window.watch);
        return window.callEvents.map(([e]) => e);
      });
      assert.deepEqual(closed, ["stream", "close"]);
    });
  });
});
