/*
 * skywasm.js — the SkyWay (ECLWebRTC) JavaScript SDK's API over skywasm's Go SDK, compiled to WebAssembly.
 *
 * As a classic script (<script src="/sdk/skywasm.js">) it defines the global `Peer`. skywasm.mjs imports it
 * and exports the same classes. Either way sdk.wasm and wasm_exec.js are fetched from beside this file unless
 * Peer.init({wasmURL}) says otherwise, and a Peer with neither `host` nor `port` connects to the origin this file
 * came from (the skywasm server) unless Peer.init({serverURL}) says otherwise.
 *
 * This file only forwards: every method calls into Go (wasm/ in the repository), and every event is emitted
 * from there. It holds no protocol or connection state of its own.
 */
(function () {
  "use strict";

  const registry = Symbol.for("skywasm");
  if (globalThis[registry]) {
    // Loaded twice (a script tag and the module, say): one SDK serves both.
    if (typeof document !== "undefined" && document.currentScript && !globalThis.Peer) {
      globalThis.Peer = globalThis[registry].Peer;
    }
    return;
  }

  // Where sdk.wasm and wasm_exec.js live: beside this script. A module import leaves currentScript null;
  // skywasm.mjs then sets the base from import.meta.url.
  let baseURL = typeof document !== "undefined" && document.currentScript ? document.currentScript.src : undefined;
  let wasmURL;
  let defaultServer; // Peer.init({serverURL}), else see serverOrigin
  let loading; // the Promise of the bridge's call function
  let call; // call(method, handle, self, ...args), once loaded
  let connectionCall; // see Connection
  let roomCall; // see Room
  // Each MediaConnection's last remote stream, for its remoteStream property.
  const remoteStreams = new WeakMap();

  /**
   * The bridge's methods, by the kind of object they act on: the shim's half of its contract with Go. Go's method
   * tables (wasm/object.go) hold exactly these names per kind, which wasm's tests check by reading this literal; the
   * shim names a method only as M.kind.name, so it calls no name that is not listed here.
   */
  const bridgeMethods = {
    bridge: ["stats", "newPeer"],
    peer: [
      "peerId", "peerOpen", "connections", "rooms", "call", "connect", "joinRoom", "getConnection", "destroy",
      "disconnect", "reconnect", "updateCredential", "listAllPeers", "fetchPeerExists",
    ],
    connection: ["connOpen", "peerConnection", "close"],
    media: ["localStream", "answer", "replaceStream"],
    data: ["send"],
    room: [
      "roomMembers", "roomSend", "roomClose", "roomReplaceStream", "roomGetLog", "roomConnections",
      "roomPeerConnections", "roomRemoteStreams", "roomPeerConnection",
    ],
  };
  /** M.kind.name is the name of that bridge method; a name that is not listed is undefined, which Go refuses. */
  const M = {};
  for (const [kind, names] of Object.entries(bridgeMethods)) M[kind] = Object.fromEntries(names.map((n) => [n, n]));

  /**
   * A small EventEmitter with Node's API, which SkyWay's objects had (it used the `events` package).
   * A listener that throws does not stop the others or the SDK: its exception is reported as the page's
   * uncaught error. An `error` event with no listener is written to the console instead of thrown.
   */
  class EventEmitter {
    #listeners = new Map();
    #maxListeners = EventEmitter.defaultMaxListeners;

    /** As in Node: above this many listeners for one event a warning is printed once; 0 means no limit. */
    static defaultMaxListeners = 10;

    setMaxListeners(n) {
      if (typeof n !== "number" || n < 0 || Number.isNaN(n)) {
        throw new RangeError(`skywasm: setMaxListeners needs a non-negative number, got ${n}`);
      }
      this.#maxListeners = n;
      return this;
    }

    getMaxListeners() {
      return this.#maxListeners;
    }

    on(name, listener) {
      checkListener(listener);
      const list = this.#listeners.get(name);
      if (list) list.push(listener);
      else this.#listeners.set(name, [listener]);
      this.#checkMax(name);
      return this;
    }

    addListener(name, listener) {
      return this.on(name, listener);
    }

    prependListener(name, listener) {
      checkListener(listener);
      this.#listeners.set(name, [listener, ...(this.#listeners.get(name) || [])]);
      this.#checkMax(name);
      return this;
    }

    once(name, listener) {
      checkListener(listener);
      return this.on(name, this.#onceWrapper(name, listener));
    }

    prependOnceListener(name, listener) {
      checkListener(listener);
      return this.prependListener(name, this.#onceWrapper(name, listener));
    }

    #onceWrapper(name, listener) {
      const wrapper = (...args) => {
        this.off(name, wrapper);
        listener.apply(this, args);
      };
      wrapper.listener = listener;
      return wrapper;
    }

    #warned = new Set();

    // checkMax warns once per event name, as Node does, when listeners pile up: usually a page that adds a
    // listener per call or per message and never removes it.
    #checkMax(name) {
      const n = this.#listeners.get(name).length;
      if (this.#maxListeners > 0 && n > this.#maxListeners && !this.#warned.has(name)) {
        this.#warned.add(name);
        console.warn(
          `skywasm: possible EventEmitter memory leak detected: ${n} ${String(name)} listeners added. ` +
            "Use emitter.setMaxListeners() to increase the limit.",
        );
      }
    }

    off(name, listener) {
      if (listener === undefined) return this.removeAllListeners(name); // as EventEmitter3 does
      const list = this.#listeners.get(name);
      if (!list) return this;
      const i = list.findLastIndex((l) => l === listener || l.listener === listener);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#listeners.delete(name);
      return this;
    }

    removeListener(name, listener) {
      return this.off(name, listener);
    }

    removeAllListeners(name) {
      if (name === undefined) this.#listeners.clear();
      else this.#listeners.delete(name);
      return this;
    }

    emit(name, ...args) {
      const list = this.#listeners.get(name);
      if (!list) {
        if (name === "error") console.error("skywasm: unhandled error event:", args[0]);
        return false;
      }
      for (const listener of [...list]) {
        try {
          listener.apply(this, args);
        } catch (err) {
          report(err);
        }
      }
      return true;
    }

    listeners(name) {
      return (this.#listeners.get(name) || []).map((l) => l.listener || l);
    }

    /** The listeners as registered: a once listener appears as its wrapper, whose `listener` is the original. */
    rawListeners(name) {
      return [...(this.#listeners.get(name) || [])];
    }

    listenerCount(name) {
      return (this.#listeners.get(name) || []).length;
    }

    eventNames() {
      return [...this.#listeners.keys()];
    }
  }

  /**
   * One member of an Enum, as the `enum` package SkyWay used made them: `Peer.EVENTS.open.key === "open"`; its value
   * is a power of two in declaration order; as a string or in JSON it is its key.
   */
  class EnumItem {
    constructor(key, value) {
      this.key = key;
      this.value = value;
      Object.freeze(this);
    }

    is(other) {
      return other instanceof EnumItem ? other.key === this.key : other === this.key || other === this.value;
    }

    toString() {
      return this.key;
    }

    toJSON() {
      return this.key;
    }

    valueOf() {
      return this.value;
    }
  }

  const enumMethods = {
    /** The member named by a key, a value or a member; undefined if none. */
    get(x) {
      return this.enums.find((item) => item.is(x));
    },
    getKey(x) {
      return this.get(x)?.key;
    },
    getValue(x) {
      return this.get(x)?.value;
    },
    toJSON() {
      return Object.fromEntries(this.enums.map((item) => [item.key, item.value]));
    },
  };

  /** makeEnum makes the frozen, Enum-like object SkyWay's classes had as EVENTS, members in the order given. */
  function makeEnum(keys) {
    const e = Object.create(enumMethods);
    const enums = keys.map((key, i) => new EnumItem(key, 2 ** i));
    for (const item of enums) e[item.key] = item;
    Object.defineProperty(e, "enums", { value: Object.freeze(enums) });
    return Object.freeze(e);
  }

  // SkyWay's event enums, member for member and in its order: MediaConnection's and DataConnection's extend its
  // Connection's (whose signaling events a page never sees), and the rooms' extend its Room's. skywasm's own events
  // (the Peer's reconnected, the connections' reconnecting and reconnected) are emitted but not listed: a page
  // iterating an enum sees exactly SkyWay's; index.d.ts's event maps document them.
  const connectionEvents = ["candidate", "offer", "answer", "close", "forceClose"];
  const roomEvents = ["stream", "open", "close", "peerJoin", "peerLeave", "error", "data", "log"];
  const EVENTS = {
    peer: makeEnum(["open", "error", "call", "connection", "expiresin", "close", "disconnected"]),
    media: makeEnum(["stream", ...connectionEvents]),
    data: makeEnum(["open", "data", "error", ...connectionEvents]),
    mesh: makeEnum(roomEvents),
    sfu: makeEnum(roomEvents),
  };

  /**
   * serverURL is the signaling server's origin for a Peer's options once SkyWay's constructor rules have run
   * (peerOptions): host and port name the server, over https only when `secure` is true; a missing port is the
   * scheme's and a missing host the default server's. With neither, the default server: `fallback`.
   */
  function serverURL(options, fallback) {
    const { host, port } = options;
    const hasHost = typeof host === "string" && host !== "";
    const hasPort = (typeof port === "number" && Number.isFinite(port)) || (typeof port === "string" && port !== "");
    if (!hasHost && !hasPort) return fallback;
    const secure = options.secure === true;
    let h = hasHost ? host : fallback ? new URL(fallback).hostname : "localhost";
    if (h.includes(":") && !h.startsWith("[")) h = `[${h}]`; // an IPv6 address
    const raw = `${secure ? "https" : "http"}://${h}:${hasPort ? port : secure ? 443 : 80}`;
    try {
      return new URL(raw).origin;
    } catch {
      return raw; // the SDK reports it, as SkyWay reported a server it could not reach
    }
  }

  /**
   * The default server: Peer.init({serverURL}), else the origin this script (or skywasm.mjs) was loaded from,
   * which is the skywasm server, else — the script was inlined, say by a bundler — the page's origin.
   */
  function serverOrigin() {
    if (defaultServer) return defaultServer;
    for (const u of [baseURL, typeof location !== "undefined" ? location.href : undefined]) {
      try {
        const url = new URL(u);
        if (url.protocol === "http:" || url.protocol === "https:") return url.origin;
      } catch {
        // not a URL: try the next
      }
    }
    return undefined;
  }

  /**
   * peerOptions makes peer.options as SkyWay's constructor did: its defaults under the page's options, a fresh
   * token, `host: "/"` for the page's hostname, and `secure` left undefined — plain http and ws — unless the page
   * set it or the port is 443. SkyWay's dispatcher options describe the default server, which stands in for it.
   */
  function peerOptions(options) {
    const server = new URL(serverOrigin() || "http://localhost");
    const defaults = {
      debug: 0,
      secure: true,
      config: { iceServers: [], iceTransportPolicy: "all" },
      turn: true,
      dispatcherSecure: server.protocol === "https:",
      dispatcherHost: server.hostname,
      dispatcherPort: Number(server.port) || (server.protocol === "https:" ? 443 : 80),
    };
    const out = Object.assign({}, defaults, options);
    out.token = randomToken();
    if (out.host === "/" && typeof location !== "undefined") out.host = location.hostname;
    if ((options == null || options.secure === undefined) && out.port !== 443) out.secure = undefined;
    return out;
  }

  // randomToken is the session token: what lets a reconnecting socket take its peer ID back.
  function randomToken() {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const bytes = crypto.getRandomValues(new Uint8Array(22));
    return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
  }

  function checkListener(listener) {
    if (typeof listener !== "function") throw new TypeError("skywasm: a listener must be a function");
  }

  // report makes err the page's uncaught error without unwinding into Go.
  function report(err) {
    if (typeof globalThis.reportError === "function") globalThis.reportError(err);
    else setTimeout(() => { throw err; });
  }

  // invoke calls into Go; an Error coming back is one SkyWay threw.
  function invoke(method, handle, self, ...args) {
    const result = call(method, handle, self, ...args);
    if (result instanceof Error) throw result;
    return result;
  }

  // notOpenError is SkyWay's error for a Peer used before it is open: here, before sdk.wasm has even loaded.
  function notOpenError() {
    const err = new Error("the peer is not connected to the server");
    err.type = "disconnected";
    return err;
  }

  // The module's and wasm_exec.js's names beside this script. skywasm serve (server/static) writes the
  // content-hashed, immutable names between the quotes of the marked literals as it serves this file
  // (sdk.<hash>.wasm), so that a warm load asks the server nothing and Chromium's wasm code cache, keyed by URL,
  // applies; served as-is (a bundler, another server) they stay the plain names.
  const wasmName = /*skywasm:sdk.wasm*/ "sdk.wasm";
  const execName = /*skywasm:wasm_exec.js*/ "wasm_exec.js";
  let compiling; // {url, module: Promise<WebAssembly.Module>}: the fetch and compile under way
  let goEnv; // Peer.init({env}): the Go runtime's environment (GODEBUG=inittrace=1, …)

  // mark records a step of the start-up on the page's performance timeline (skywasm:fetch, :compiled, :start,
  // :instantiated, :ready), which the browser benchmark reads.
  function mark(name) {
    if (typeof performance !== "undefined" && typeof performance.mark === "function") performance.mark(`skywasm:${name}`);
  }

  function wasmLocation() {
    const base = baseURL || (typeof location !== "undefined" ? new URL("/sdk/", location.href).href : undefined);
    return new URL(wasmURL || wasmName, base);
  }

  // compile starts fetching and compiling the module at url, once per URL. compileStreaming compiles as the bytes
  // arrive, on other threads, and is what lets Chromium cache the compiled code; it needs Content-Type
  // application/wasm. A server without it still works, slower; a hashed name the server no longer has (a rebuild
  // between the script and the module) falls back to the plain name.
  function compile(url) {
    if (compiling?.url.href === url.href) return compiling.module;
    mark("fetch");
    const fetchOK = async (u) => {
      const res = await fetch(u);
      if (!res.ok) throw new Error(`skywasm: fetching ${u} failed: HTTP ${res.status}`);
      return res;
    };
    const plain = !wasmURL && wasmName !== "sdk.wasm" ? new URL("sdk.wasm", url) : null;
    const module = (async () => {
      let response = fetchOK(url);
      if (plain) response = response.catch(() => fetchOK(plain));
      let m;
      try {
        m = await WebAssembly.compileStreaming(response);
      } catch (err) {
        const res = await response; // a failed fetch rejects here
        m = await WebAssembly.compile(await res.clone().arrayBuffer());
      }
      mark("compiled");
      return m;
    })();
    // Started early, nobody may be waiting yet: an error is reported when the SDK is asked for.
    module.catch(() => {});
    compiling = { url, module };
    return module;
  }

  // prefetch starts the fetch and compile as soon as this script knows where it was served from, when it was
  // served under its own name (not from a bundle, which says where the module is with Peer.init({wasmURL})).
  function prefetch(scriptURL) {
    try {
      if (!/\/skywasm\.m?js$/.test(new URL(scriptURL).pathname)) return;
      compile(wasmLocation());
      if (typeof globalThis.Go !== "function") import(new URL(execName, wasmLocation()).href).catch(() => {});
    } catch {
      // No URL to start from: the first Peer or Peer.init loads it.
    }
  }

  async function load() {
    if (call) return call;
    mark("start");
    const url = wasmLocation();
    const module = compile(url);
    if (typeof globalThis.Go !== "function") {
      await import(new URL(wasmURL ? "wasm_exec.js" : execName, url).href);
    }
    const go = new globalThis.Go();
    if (goEnv) Object.assign(go.env, goEnv);
    const instance = await WebAssembly.instantiate(await module, go.importObject);
    mark("instantiated");
    const ready = new Promise((resolve) => {
      globalThis.__skywasm = {
        ready(fn) {
          mark("ready");
          resolve(fn);
        },
        emit(self, name, ...args) {
          if (name === "stream" && self instanceof MediaConnection) remoteStreams.set(self, args[0]);
          EventEmitter.prototype.emit.call(self, name, ...args);
        },
        make(kind, handle, props) {
          switch (kind) {
            case "media":
              return new MediaConnection(handle, props);
            case "data":
              return new DataConnection(handle, props);
            case "sfu":
              return new SFURoom(handle, props);
            default:
              return new MeshRoom(handle, props);
          }
        },
      };
    });
    go.run(instance).then(() => console.error("skywasm: the SDK has stopped; reload the page"));
    call = await ready;
    return call;
  }

  /**
   * Peer: SkyWay's Peer. `new Peer([id], options)` returns at once; `open` fires once sdk.wasm has loaded and
   * the server accepted the peer.
   */
  class Peer extends EventEmitter {
    #handle = 0;
    #id;
    #destroyed = false;
    #ready;

    constructor(id, options) {
      super();
      if (id && typeof id === "object") {
        options = id;
        id = undefined;
      }
      this.#id = id === undefined || id === null ? undefined : String(id);
      this.options = peerOptions(options);
      const server = serverURL(this.options, serverOrigin()) ?? "";
      this.#ready = (loading ||= load()).then(
        () => {
          if (this.#destroyed) this.emit("close"); // destroyed before the SDK had loaded
          else this.#handle = invoke(M.bridge.newPeer, 0, this, this.#id ?? null, this.options, server);
        },
        (err) => {
          const e = new Error(`skywasm: the SDK failed to load: ${err.message}`);
          e.type = "server-error";
          this.emit("error", e);
        },
      );
    }

    /**
     * Loads and starts the SDK ahead of the first Peer, or from another URL than beside this script; `env` is
     * the Go runtime's environment, for diagnosis ({GODEBUG: "inittrace=1"}); sets the server that Peers made from
     * now on with neither `host` nor `port` connect to. skywasm extension. The script starts fetching and compiling
     * sdk.wasm as it is evaluated; this also starts the Go runtime, so that the first Peer opens sooner.
     * @param {{wasmURL?: string | URL, env?: Record<string, string>, serverURL?: string | URL}} [options]
     */
    static init(options = {}) {
      if (options.serverURL !== undefined) {
        const url = new URL(String(options.serverURL), typeof location !== "undefined" ? location.href : undefined);
        if (url.protocol !== "http:" && url.protocol !== "https:") {
          throw new TypeError(`skywasm: Peer.init({serverURL}) needs an http or https URL, got ${options.serverURL}`);
        }
        defaultServer = url.origin;
      }
      if ((options.wasmURL !== undefined || options.env !== undefined) && !call && loading) {
        throw new Error("skywasm: Peer.init({wasmURL, env}) must come before the first Peer");
      }
      if (options.wasmURL !== undefined && !call) wasmURL = String(options.wasmURL);
      if (options.env !== undefined && !call) goEnv = { ...options.env };
      return (loading ||= load()).then(() => undefined);
    }

    /** The events a Peer emits, as SkyWay's Enum: `Peer.EVENTS.open.key === "open"`. */
    static get EVENTS() {
      return EVENTS.peer;
    }

    /** The Go runtime's figures (goroutines, heap bytes, live SDK objects), null before loading. skywasm extension. */
    static debugStats() {
      return call ? invoke(M.bridge.stats, 0, null) : null;
    }

    get id() {
      return this.#handle ? invoke(M.peer.peerId, this.#handle, this) ?? this.#id ?? null : this.#id ?? null;
    }

    get open() {
      return this.#handle ? invoke(M.peer.peerOpen, this.#handle, this) : false;
    }

    get connections() {
      return this.#handle ? invoke(M.peer.connections, this.#handle, this) : {};
    }

    get rooms() {
      return this.#handle ? invoke(M.peer.rooms, this.#handle, this) : {};
    }

    call(peerId, stream, options) {
      if (!call) return this.#notOpen();
      return invoke(M.peer.call, this.#handle, this, peerId, stream ?? null, options ?? null);
    }

    connect(peerId, options) {
      if (!call) return this.#notOpen();
      return invoke(M.peer.connect, this.#handle, this, peerId, options ?? null);
    }

    /**
     * Joins the room `roomName`: an SFURoom for `{mode: "sfu"}`, else a MeshRoom; the same object again for a room
     * this peer is in already. null after an `error` event (`room-error` for an empty name, `disconnected` when not
     * open).
     */
    joinRoom(roomName, options) {
      if (!call) {
        this.#notOpen();
        return null;
      }
      return invoke(M.peer.joinRoom, this.#handle, this, roomName, options ?? null);
    }

    getConnection(peerId, connectionId) {
      return this.#handle ? invoke(M.peer.getConnection, this.#handle, this, peerId, connectionId) : null;
    }

    destroy() {
      this.#destroyed = true;
      this.#ready.then(() => this.#handle && invoke(M.peer.destroy, this.#handle, this));
    }

    disconnect() {
      this.#ready.then(() => this.#handle && invoke(M.peer.disconnect, this.#handle, this));
    }

    reconnect() {
      this.#ready.then(() => this.#handle && invoke(M.peer.reconnect, this.#handle, this));
    }

    updateCredential(credential) {
      this.#ready.then(() => this.#handle && invoke(M.peer.updateCredential, this.#handle, this, credential));
    }

    listAllPeers(callback) {
      this.#ready.then(() => {
        if (this.#handle) invoke(M.peer.listAllPeers, this.#handle, this, callback);
        else callback([]);
      });
    }

    fetchPeerExists(peerId) {
      return this.#ready.then(() => {
        if (!this.#handle) throw notOpenError();
        return new Promise((resolve, reject) => invoke(M.peer.fetchPeerExists, this.#handle, this, peerId, resolve, reject));
      });
    }

    #notOpen() {
      queueMicrotask(() => this.emit("error", notOpenError()));
      return undefined;
    }
  }

  /** What MediaConnection and DataConnection share. */
  class Connection extends EventEmitter {
    #handle;

    constructor(handle, props) {
      super();
      this.#handle = handle;
      for (const [name, value] of Object.entries(props)) {
        Object.defineProperty(this, name, { value, enumerable: true });
      }
    }

    get open() {
      return invoke(M.connection.connOpen, this.#handle, this);
    }

    /** SkyWay's deprecated alias of remoteId (PeerJS's name). */
    get peer() {
      return this.remoteId;
    }

    getPeerConnection() {
      return invoke(M.connection.peerConnection, this.#handle, this);
    }

    close(forceClose) {
      invoke(M.connection.close, this.#handle, this, !!forceClose);
    }

    static {
      // connectionCall lets the subclasses reach Go with this connection's handle, which stays private.
      connectionCall = (conn, method, ...args) => invoke(method, conn.#handle, conn, ...args);
    }
  }

  /** MediaConnection: a call. */
  class MediaConnection extends Connection {
    static get EVENTS() {
      return EVENTS.media;
    }

    /** The far side's stream, the last `stream` event's; undefined before it, as in SkyWay. */
    get remoteStream() {
      return remoteStreams.get(this);
    }

    get localStream() {
      return connectionCall(this, M.media.localStream);
    }

    answer(stream, options) {
      connectionCall(this, M.media.answer, stream ?? null, options ?? null);
    }

    replaceStream(stream) {
      connectionCall(this, M.media.replaceStream, stream);
    }
  }

  /** DataConnection: a data channel to one peer. */
  class DataConnection extends Connection {
    static get EVENTS() {
      return EVENTS.data;
    }

    /**
     * Sends data. skywasm extension: the returned promise resolves true once the value is handed to the
     * channel (await it for back-pressure) and false if it was not sent; an `error` event then says why.
     */
    send(data) {
      return new Promise((resolve) => connectionCall(this, M.data.send, data, resolve));
    }
  }

  /** What MeshRoom and SFURoom share. Its errors are the peer's `error` events, as in SkyWay. */
  class Room extends EventEmitter {
    #handle;

    constructor(handle, props) {
      super();
      this.#handle = handle;
      for (const [name, value] of Object.entries(props)) {
        Object.defineProperty(this, name, { value, enumerable: true });
      }
    }

    /** The other members' peer IDs, in the order they joined. */
    get members() {
      return invoke(M.room.roomMembers, this.#handle, this);
    }

    /** Sends data to the other members through the server. Throws over 20 MB; faster than 1 per 100 ms queues. */
    send(data) {
      invoke(M.room.roomSend, this.#handle, this, data);
    }

    close() {
      invoke(M.room.roomClose, this.#handle, this);
    }

    replaceStream(stream) {
      invoke(M.room.roomReplaceStream, this.#handle, this, stream);
    }

    getLog() {
      invoke(M.room.roomGetLog, this.#handle, this);
    }

    static {
      roomCall = (room, method, ...args) => invoke(method, room.#handle, room, ...args);
    }
  }

  /** MeshRoom: every member calls every other. */
  class MeshRoom extends Room {
    static get EVENTS() {
      return EVENTS.mesh;
    }

    /** The calls with the other members: {peerId: [MediaConnection]}. */
    get connections() {
      return roomCall(this, M.room.roomConnections);
    }

    getPeerConnections() {
      return roomCall(this, M.room.roomPeerConnections);
    }
  }

  /** SFURoom: the media goes through the server. */
  class SFURoom extends Room {
    static get EVENTS() {
      return EVENTS.sfu;
    }

    /** The members' streams by stream ID, as SkyWay had them. */
    get remoteStreams() {
      return roomCall(this, M.room.roomRemoteStreams);
    }

    getPeerConnection() {
      return roomCall(this, M.room.roomPeerConnection);
    }
  }

  Peer.MediaConnection = MediaConnection;
  Peer.DataConnection = DataConnection;
  Peer.MeshRoom = MeshRoom;
  Peer.SFURoom = SFURoom;
  Peer.EventEmitter = EventEmitter;

  globalThis[registry] = {
    Peer,
    MediaConnection,
    DataConnection,
    MeshRoom,
    SFURoom,
    EventEmitter,
    // setBase is skywasm.mjs's: the module's own URL, when no classic script set one.
    setBase(url) {
      baseURL ||= url;
      prefetch(url);
    },
    // For js/test/server-url.test.mjs: the rules, without a page.
    internals: { serverURL, peerOptions, serverOrigin },
  };
  if (typeof document !== "undefined" && document.currentScript) {
    globalThis.Peer = Peer;
    prefetch(document.currentScript.src);
  }
})();
