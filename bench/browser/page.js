// The in-page half of the browser benchmark (bench/browser/browser.mjs): window.B
// opens peers, connects them, moves bytes and places calls with skywasm,
// PeerJS or a bare RTCPeerConnection, and reports when things happened.
// browser.mjs drives it through page.evaluate; it decides nothing itself.
//
// The page is opened through js/test/harness.mjs's withContext, whose init
// script installs window.T (T.event, T.deadline, T.until): every wait here has
// a deadline through it, so a page.evaluate never hangs.
//
// Timestamps that two pages compare (a transfer's start on the sender, its
// end on the receiver) are performance.timeOrigin + performance.now(): one
// clock for every page of the browser, to well under a millisecond.
(function () {
  "use strict";

  const params = new URLSearchParams(location.search);
  const lib = params.get("lib") || "raw";

  // How much a sender lets queue in a data channel before it waits, for
  // PeerJS and the bare channel: the same marks skywasm's DataConnection uses
  // inside send() (sdk/dataconnection.go), so that every contender gets the
  // same back-pressure.
  const highWater = 1 << 20;
  const lowWater = 256 << 10;

  /**
   * The signaling WebSocket's moments, for skywasm's start-up breakdown: when the page created it, when it opened
   * and when its first message (the server's OPEN) arrived. A subclass installed before the SDK loads, whose own
   * listener runs before any of the SDK's.
   */
  const ws = { created: NaN, opened: NaN, firstMessage: NaN };

  /**
   * A call's moments on either side, for either library (both use the page's RTCPeerConnection and WebSocket):
   * each the first time after B.watchCall(), as a time every page shares (see now). Recorded by the wrappers
   * below, which run before any of the library's code; offers and answers are told by their signaling messages'
   * type.
   */
  let callMarks = null;
  const callMark = (name) => {
    if (callMarks && !(name in callMarks)) callMarks[name] = performance.timeOrigin + performance.now();
  };
  const signal = (data, sent) => {
    const m = typeof data === "string" && /"type":"(?:SEND_)?(OFFER|ANSWER)"/.exec(data);
    if (m) callMark(`${m[1].toLowerCase()}${sent ? "Sent" : "Received"}`);
  };
  if (lib !== "raw" && typeof WebSocket === "function") {
    const Base = WebSocket;
    const baseSend = Base.prototype.send;
    Base.prototype.send = function (data) {
      signal(data, true);
      return baseSend.call(this, data);
    };
    globalThis.WebSocket = class extends Base {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (e) => signal(e.data, false));
        if (lib === "skywasm" && Number.isNaN(ws.created)) {
          ws.created = performance.now();
          this.addEventListener("open", () => (ws.opened = performance.now()), { once: true });
          this.addEventListener("message", () => (ws.firstMessage = performance.now()), { once: true });
        }
      }
    };
  }
  if (lib !== "raw" && typeof RTCPeerConnection === "function") {
    const proto = RTCPeerConnection.prototype;
    for (const [method, name] of [
      ["createOffer", "offer"],
      ["createAnswer", "answer"],
      ["setLocalDescription", "setLocal"],
      ["setRemoteDescription", "setRemote"],
    ]) {
      const base = proto[method];
      proto[method] = function (...args) {
        callMark(`${name}Called`);
        return base.apply(this, args).then((v) => {
          callMark(`${name}Done`);
          return v;
        });
      };
    }
    // Tracks attached: the first such call's start, and the last one's end.
    for (const method of ["addTrack", "addTransceiver"]) {
      const base = proto[method];
      proto[method] = function (...args) {
        callMark("attachCalled");
        try {
          return base.apply(this, args);
        } finally {
          if (callMarks) callMarks.attachDone = performance.timeOrigin + performance.now();
        }
      };
    }
    const Base = RTCPeerConnection;
    globalThis.RTCPeerConnection = class extends Base {
      constructor(...args) {
        callMark("pcCalled");
        super(...args);
        callMark("pcCreated");
        this.addEventListener("track", () => callMark("track"));
      }
    };
  }

  /** The time of skywasm's start-up mark name (skywasm.js's mark()), or NaN. */
  function markAt(name) {
    const e = performance.getEntriesByName(`skywasm:${name}`);
    return e.length ? e[e.length - 1].startTime : NaN;
  }

  /**
   * skywasm's new Peer() → open, in stages, in ms: the module's fetch (from resource timing, with the bytes that
   * crossed the network), its compile (from the fetch's start: streaming compiles as the bytes arrive), instantiate,
   * Go's start (runtime and package init, to the bridge's ready), the signaling handshake (ready to the server's
   * first message) and the delivery of open (that message to the page's listener). Each stage counts only the time
   * after new Peer() (t0): what the script did before it, as its early fetch and compile, cost the Peer nothing.
   */
  function breakdown(t0, openedAt) {
    const fetchStart = markAt("fetch");
    const compiled = markAt("compiled");
    const start = markAt("start");
    const instantiated = markAt("instantiated");
    const ready = markAt("ready");
    const res = performance.getEntriesByType("resource").filter((e) => /\/sdk(\.[\w-]+)?\.wasm(\?|$)/.test(new URL(e.name).pathname + new URL(e.name).search));
    const r = res[res.length - 1];
    const after = (from, to) => Math.max(0, to - Math.max(from, t0));
    return {
      url: r ? new URL(r.name).pathname : null,
      transferSize: r ? r.transferSize : null,
      fetchBeforePeer: fetchStart < t0,
      fetch: r ? after(r.startTime, r.responseEnd) : NaN,
      compile: after(fetchStart, compiled),
      instantiate: after(Math.max(compiled, start), instantiated),
      goStart: after(instantiated, ready),
      handshake: after(ready, ws.firstMessage),
      deliver: after(ws.firstMessage, openedAt),
      wsConnect: after(ws.created, ws.opened),
    };
  }

  /** Loads the library the query string names; resolves once it ran. */
  function loadLibrary() {
    let src;
    if (lib === "skywasm") src = new URL("skywasm.js", params.get("sdk")).href;
    else if (lib === "peerjs") src = "/peerjs/peerjs.min.js";
    else return Promise.resolve();
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => resolve();
      script.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.append(script);
    });
  }

  const now = () => performance.timeOrigin + performance.now();

  /** Resolves once the channel's queue fell to lowWater (or after 100 ms, a safety net). */
  function drained(dc) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        dc.removeEventListener("bufferedamountlow", done);
        resolve();
      };
      const timer = setTimeout(done, 100);
      dc.addEventListener("bufferedamountlow", done);
    });
  }

  /** Resolves once pc has gathered its candidates, so that one offer or answer carries them all. */
  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return T.deadline(
      new Promise((resolve) => {
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") resolve();
        });
      }),
      10_000,
      "ICE gathering",
    );
  }

  const B = {
    lib,
    ready: loadLibrary(),
    peer: null,
    /** Data connections by label; "raw" is the bare channel. */
    conns: {},
    /** What this page sends: ArrayBuffers, each starting with its index. */
    chunks: [],
    /** The transfer being received: {total, bytes, next, error, endAt, done}. */
    rx: null,
    stream: null,
    calls: [],

    /**
     * new Peer() until its open event, in ms; the peer becomes B.peer.
     * skywasm's server is named by host and port (the page is served from
     * elsewhere); PeerJS's server by host, port and its key, with no ICE
     * servers (skywasm has none by default either, and none can be reached).
     */
    async openPeer({ key, host, port }) {
      await B.ready;
      const t0 = performance.now();
      const peer =
        lib === "skywasm"
          ? new Peer({ key, host, port, secure: false })
          : new peerjs.Peer({ key, host, port, path: "/", secure: false, config: { iceServers: [] } });
      const id = await T.event(peer, "open", 60_000, `${lib}'s open event`);
      const openedAt = performance.now();
      const ms = openedAt - t0;
      B.peer = peer;
      peer.on("connection", (conn) => {
        conn.on("data", B.take);
        B.conns[conn.label] = conn;
      });
      peer.on("call", (call) => {
        callMark("callEvent");
        B.calls.push(call);
        call.answer(B.stream);
      });
      return { id, ms, stages: lib === "skywasm" ? breakdown(t0, openedAt) : null };
    },

    /** skywasm's Peer.init(options): loads and starts the SDK ahead of a Peer; resolves with the ms it took. */
    async init(options) {
      await B.ready;
      const t0 = performance.now();
      await T.deadline(Peer.init(options), 60_000, "Peer.init");
      return performance.now() - t0;
    },

    /**
     * Opens a DataConnection to remoteId with the given serialization,
     * labelled label. PeerJS is asked for reliable: true, an ordered channel
     * as skywasm's and the bare one are: its default channel is unordered
     * and hands over a file's slices out of order.
     */
    async connect(remoteId, serialization, label) {
      const options = lib === "peerjs" ? { serialization, label, reliable: true } : { serialization, label };
      const conn = B.peer.connect(remoteId, options);
      await T.event(conn, "open", 20_000, `the ${label} connection's open event`);
      conn.on("data", B.take);
      B.conns[label] = conn;
      return conn.serialization;
    },

    /** Waits until this side's connection labelled label is open (the answering side learns of it by an event). */
    async accepted(label) {
      const open = () => B.conns[label]?.open || B.conns[label]?.readyState === "open";
      await T.until(open, 20_000, `the ${label} connection to open on this side`);
    },

    /**
     * Offers a bare RTCPeerConnection with two reliable, ordered channels, raw and raw16 (which sends each slice in
     * messages of 16 KiB, as the binary serializations' chunks are); returns the offer.
     */
    async rawOffer() {
      const pc = (B.pc = new RTCPeerConnection());
      B.rawChannel(pc.createDataChannel("raw"));
      B.rawChannel(pc.createDataChannel("raw16"));
      await pc.setLocalDescription();
      await gathered(pc);
      return pc.localDescription.toJSON();
    },

    /** Answers a bare offer; the channel arrives with the datachannel event. */
    async rawAnswer(offer) {
      const pc = (B.pc = new RTCPeerConnection());
      pc.addEventListener("datachannel", (e) => B.rawChannel(e.channel));
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription();
      await gathered(pc);
      return pc.localDescription.toJSON();
    },

    /** Completes the offerer's side with answer. */
    async rawAccept(answer) {
      await B.pc.setRemoteDescription(answer);
    },

    /** Makes dc the bare channel: ArrayBuffers in, every message counted by take. */
    rawChannel(dc) {
      dc.binaryType = "arraybuffer";
      dc.addEventListener("message", (e) => B.take(e.data));
      B.conns[dc.label] = dc;
    },

    /** Makes B.chunks: total bytes in ArrayBuffers of size bytes, each starting with its index. */
    prepare(total, size) {
      B.chunks = [];
      for (let at = 0, i = 0; at < total; at += size, i++) {
        const chunk = new Uint8Array(Math.min(size, total - at));
        for (let off = 0; off < chunk.length; off += 65_536) crypto.getRandomValues(chunk.subarray(off, off + 65_536));
        new DataView(chunk.buffer).setUint32(0, i);
        B.chunks.push(chunk.buffer);
      }
      return B.chunks.length;
    },

    /** Arms the receiver for a transfer of total bytes. */
    expect(total, sliced = false) {
      let resolve;
      const done = new Promise((r) => (resolve = r));
      B.rx = { total, sliced, bytes: 0, messages: 0, next: 0, error: null, endAt: 0, done, resolve };
    },

    /**
     * Counts one received message, checking that chunks come whole and in
     * order. An ArrayBuffer or a view of one counts: PeerJS's binary
     * serialization hands over a Uint8Array where skywasm hands over the
     * ArrayBuffer that was sent.
     */
    take(data) {
      const rx = B.rx;
      if (!rx || rx.endAt) return;
      rx.messages++;
      let view;
      if (data instanceof ArrayBuffer) view = new DataView(data);
      else if (ArrayBuffer.isView(data)) view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      else {
        rx.error ??= `received a ${Object.prototype.toString.call(data)}, want an ArrayBuffer or a view of one`;
        return;
      }
      if (!rx.sliced) {
        const index = view.byteLength >= 4 ? view.getUint32(0) : -1;
        if (index !== rx.next) rx.error ??= `received chunk ${index} when chunk ${rx.next} was due`;
        rx.next++;
      }
      rx.bytes += view.byteLength;
      if (rx.bytes >= rx.total) {
        rx.endAt = now();
        rx.resolve();
      }
    },

    /** Resolves with the receiver's {endAt, bytes, messages, error} once all bytes arrived; rejects after ms. */
    async received(ms) {
      const rx = B.rx;
      let timer;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => {
          const why = rx.error ? `; ${rx.error}` : "";
          reject(new Error(`timed out after ${ms} ms: got ${rx.bytes} of ${rx.total} bytes in ${rx.messages} messages${why}`));
        }, ms);
      });
      await Promise.race([rx.done, late]).finally(() => clearTimeout(timer));
      return { endAt: rx.endAt, bytes: rx.bytes, messages: rx.messages, error: rx.error };
    },

    /**
     * Sends B.chunks over the connection labelled label the way an
     * application of this library would, and resolves with when the first
     * send began: skywasm's send() returns a promise that resolves once the
     * channel took the value; PeerJS and the bare channel are fed while
     * their channel's bufferedAmount stays under highWater.
     */
    async send(label) {
      const conn = B.conns[label];
      const startAt = now();
      if (lib === "skywasm") {
        for (const chunk of B.chunks) {
          if (!(await conn.send(chunk))) throw new Error(`skywasm: send on ${label} failed`);
        }
        return { startAt };
      }
      const dc = lib === "peerjs" ? conn.dataChannel : conn;
      dc.bufferedAmountLowThreshold = lowWater;
      for (const chunk of B.chunks) {
        while (dc.bufferedAmount > highWater) await drained(dc);
        if (lib === "peerjs") conn.send(chunk);
        else if (label === "raw16") {
          for (let at = 0; at < chunk.byteLength; at += 16 << 10) dc.send(new Uint8Array(chunk, at, Math.min(16 << 10, chunk.byteLength - at)));
        } else dc.send(chunk);
      }
      return { startAt };
    },

    /** Opens the fake camera and microphone, which calls send and answers carry. */
    async camera() {
      B.stream = await T.deadline(navigator.mediaDevices.getUserMedia({ video: true, audio: true }), 15_000, "getUserMedia");
    },

    /**
     * Calls remoteId with B.stream; resolves with the ms from peer.call() to the call's stream event, when it
     * started (now()) and this side's moments of the call (callMarks).
     */
    async call(remoteId) {
      B.watchCall();
      const start = now();
      const t0 = performance.now();
      const call = B.peer.call(remoteId, B.stream);
      B.calls.push(call);
      await T.event(call, "stream", 20_000, `${lib}'s stream event`);
      const ms = performance.now() - t0;
      callMark("stream");
      return { ms, start, marks: B.callMarks() };
    },

    /** Starts recording a call's moments on this page (callMarks). */
    watchCall() {
      callMarks = {};
    },

    /** The moments recorded since watchCall(), and stops recording. */
    callMarks() {
      const marks = callMarks;
      callMarks = null;
      return marks;
    },

    /** Closes this side's calls. */
    hangUp() {
      for (const call of B.calls.splice(0)) call.close();
    },
  };
  window.B = B;
})();
