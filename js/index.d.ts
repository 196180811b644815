/**
 * Types of skywasm's browser SDK: the SkyWay (ECLWebRTC) JavaScript SDK 4.x API, served by your own skywasm server.
 * A page written against SkyWay's documentation type-checks here with the same names; what skywasm adds is marked
 * "skywasm:".
 *
 * Two ways to load it, both typed by this file:
 * - ES module: `import Peer, { MediaConnection, DataConnection, MeshRoom, SFURoom, EventEmitter } from "skywasm"` (or
 *   "/sdk/skywasm.mjs").
 * - Classic script: `<script src="/sdk/skywasm.js"></script>` defines the global `Peer`. A script page gets these
 *   types with `/// <reference types="skywasm" />` (or `"types": ["skywasm"]` in its tsconfig/jsconfig) and writes
 *   type names as `Peer.MediaConnection`, `Peer.PeerOptions`, …
 *
 * Written by hand; `npx tsc -p js/tsconfig.json` checks it against js/test/types/.
 */

// ---------------------------------------------------------------------------------------------------------------------
// The global `Peer` of the classic script.
//
// Why `declare global` and not `export as namespace Peer`: this file describes the ES module as it is (a default
// export plus named exports), and `export as namespace Peer` would then make the global `Peer` that module's namespace
// object, on which `new Peer({...})` does not type-check. The only way `export as namespace` yields a constructible
// global is `export = Peer`, which declares a CommonJS module: under "moduleResolution": "nodenext" tsc rejects it in
// this "type": "module" package (TS1203) and then finds no default export, and it could not say that the named export
// `Peer` exists while `Peer.Peer` does not. So the module stays honest, and one import alias puts the class — its
// value, its instance type and its namespace of types — into the global scope.
//
// The cost: the global is visible in module files too, where TypeScript cannot know whether the page also loaded
// skywasm.js; a module that forgets to import Peer is caught at run time, not by tsc.
// ---------------------------------------------------------------------------------------------------------------------

declare global {
    /**
     * SkyWay's `Peer`, as the classic script `skywasm.js` defines it on the page: `new Peer({ key })`.
     * Type names are reachable through it: `Peer.MediaConnection`, `Peer.DataConnection`, `Peer.PeerOptions`, ….
     */
    export import Peer = PeerClass;
}

/** The module's Peer under a second name, so that the global alias above does not refer to itself. */
import PeerClass = Peer;

// ---------------------------------------------------------------------------------------------------------------------
// Events
//
// Every object is an EventEmitter typed by an event map (`{ open: (id: string) => void, … }`). A declared event gets its
// listener's exact type; any other name is allowed with `(...args: any[]) => void`, since SkyWay pages sometimes emit
// events of their own. The listener type is chosen from the event name by a conditional type rather than by a second
// overload: a fallback overload `(event: string, listener: (...args: any[]) => void)` would also accept a wrong
// listener for a declared event (`peer.on("open", (id: number) => …)`) and so swallow the typed ones.
// ---------------------------------------------------------------------------------------------------------------------

/** An event name. */
type EventName = string | symbol;

/** The listener of an event the emitter does not declare. */
type AnyListener = (...args: any[]) => void;

/** The listener of event `E`: the declared one, or {@link AnyListener} for a name the map does not have. */
type ListenerOf<Events, E> = E extends keyof Events ? Events[E] : AnyListener;

/** The arguments `emit` takes for event `E`. */
type ArgsOf<Events, E> = E extends keyof Events
    ? Events[E] extends (...args: infer A) => void
        ? A
        : never
    : any[];

/**
 * The event emitter (Node's API, as SkyWay's objects had) that Peer, MediaConnection and DataConnection are. `Events`
 * maps each declared event name to its listener; a page may extend it for objects of its own:
 * `class Chat extends EventEmitter<{ message: (text: string) => void }> {}`.
 *
 * Listeners are called with `this` the emitter. One that throws is reported as an uncaught error of the page; it
 * stops neither the SDK nor the other listeners. An `error` event nobody listens to is logged to the console.
 */
export declare class EventEmitter<Events extends { [E in keyof Events]: (...args: any[]) => void } = {}> {
    /** An emitter with no listeners. */
    constructor();
    /** Calls `listener` every time `event` is emitted. */
    on<E extends EventName>(event: E, listener: ListenerOf<Events, E>): this;
    /** The same as {@link on}. */
    addListener<E extends EventName>(event: E, listener: ListenerOf<Events, E>): this;
    /** Like {@link on}, but `listener` goes before the listeners `event` has already. */
    prependListener<E extends EventName>(event: E, listener: ListenerOf<Events, E>): this;
    /** Calls `listener` the next time `event` is emitted, then removes it. */
    once<E extends EventName>(event: E, listener: ListenerOf<Events, E>): this;
    /** Like {@link once}, but `listener` goes before the listeners `event` has already. */
    prependOnceListener<E extends EventName>(event: E, listener: ListenerOf<Events, E>): this;
    /** Removes `listener` (added by `on` or `once`) from `event`. To remove them all, see {@link removeAllListeners}. */
    off<E extends EventName>(event: E, listener: ListenerOf<Events, E>): this;
    /** The same as {@link off}. */
    removeListener<E extends EventName>(event: E, listener: ListenerOf<Events, E>): this;
    /** Removes every listener of `event`, or of every event when none is given. */
    removeAllListeners(event?: EventName): this;
    /** Calls the listeners of `event` with `args`, in the order they were added; true if there were any. */
    emit<E extends EventName>(event: E, ...args: ArgsOf<Events, E>): boolean;
    /** The listeners of `event`, in order. */
    listeners<E extends EventName>(event: E): Array<ListenerOf<Events, E>>;
    /** The listeners of `event` as added: a `once` listener is its wrapper, whose `listener` is the one given. */
    rawListeners<E extends EventName>(event: E): Array<ListenerOf<Events, E> & { listener?: ListenerOf<Events, E> }>;
    /** Past `n` listeners of one event a warning is printed, once (Node's leak check); 0: no limit. Default 10. */
    setMaxListeners(n: number): this;
    /** The limit {@link setMaxListeners} set. */
    getMaxListeners(): number;
    /** The limit of new emitters: 10, as in Node. */
    static defaultMaxListeners: number;
    /** How many listeners `event` has. */
    listenerCount(event: EventName): number;
    /** The events that have listeners. */
    eventNames(): EventName[];
}

/**
 * One member of an EVENTS enum, as the `enum` package SkyWay used made them: `Peer.EVENTS.open.key === "open"`. Its
 * value is a power of two in declaration order; as a string or in JSON it is its key.
 */
export interface EnumItem<K extends string = string> {
    readonly key: K;
    readonly value: number;
    /** Whether `other` is this member, its key or its value. */
    is(other: EnumItem | string | number): boolean;
    toString(): K;
    toJSON(): K;
    valueOf(): number;
}

/** SkyWay's `EVENTS` objects: a member per event name, and the `enum` package's lookups. Frozen. */
export type Enum<K extends string> = { readonly [P in K]: EnumItem<P> } & {
    /** The members in declaration order. */
    readonly enums: ReadonlyArray<EnumItem<K>>;
    /** The member named by a key, a value or a member; undefined if none. */
    get(x: EnumItem | string | number): EnumItem<K> | undefined;
    getKey(x: EnumItem | string | number): K | undefined;
    getValue(x: EnumItem | string | number): number | undefined;
};

/** The members SkyWay's MediaConnection and DataConnection enums took from its Connection's. */
type ConnectionEventKey = "candidate" | "offer" | "answer" | "close" | "forceClose";
/** SkyWay's Room events. */
type RoomEventKey = "stream" | "open" | "close" | "peerJoin" | "peerLeave" | "error" | "data" | "log";

// ---------------------------------------------------------------------------------------------------------------------
// Peer
// ---------------------------------------------------------------------------------------------------------------------

/**
 * An agent connected to the signaling server: it places and receives calls (`call`, `connect`). Created
 * synchronously; `open` fires once the SDK has loaded and the server has accepted the peer.
 *
 * ```ts
 * const peer = new Peer({ key: "<your API key>", debug: 2 });
 * peer.on("open", id => console.log("my ID is", id));
 * peer.on("call", call => call.answer(localStream));
 * ```
 */
export declare class Peer extends EventEmitter<Peer.PeerEvents> {
    /** A peer whose ID the server assigns (16 random characters). */
    constructor(options: Peer.PeerOptions);
    /**
     * A peer asking for `id` (`^[A-Za-z0-9_-]+(?:[ _-][A-Za-z0-9]+)*$`, else error `invalid-id`; taken → error
     * `unavailable-id`); null or undefined lets the server assign one.
     */
    constructor(id: string | null | undefined, options: Peer.PeerOptions);

    /** The peer ID: the one asked for, or the server's choice once `open` fired; null before either. */
    readonly id: string | null;
    /** True while the signaling socket is up and the server has accepted the peer. */
    readonly open: boolean;
    /**
     * The peer's connections, by remote peer ID, in the order they were made. As in SkyWay, closed ones stay: check
     * `open`. A mesh room's calls are the room's (`room.connections`).
     */
    readonly connections: { [peerId: string]: Array<Peer.MediaConnection | Peer.DataConnection> };
    /** The rooms this peer is in or joining, by name; a room leaves it when it closes. */
    readonly rooms: { [roomName: string]: Peer.MeshRoom | Peer.SFURoom };
    /** The options the peer was created with, as SkyWay's constructor kept them (defaults, token, host, secure). */
    readonly options: Peer.PeerOption;

    /**
     * Calls `peerId`, sending `stream` (none: receive only). The far side gets a `call` event and answers. Any
     * `peerId` gets a connection, as in SkyWay: one nobody has (or that nobody can have, such as "") gives the peer
     * error `peer-unavailable` afterwards, and the connection neither errs nor closes until closed.
     *
     * When the peer is not open it emits error `disconnected` and returns undefined, as SkyWay did; SkyWay's
     * declarations said `MediaConnection`, and so do these, so that pages typed for SkyWay compile unchanged.
     */
    call(peerId: string, stream?: MediaStream | null, options?: Peer.CallOptions): Peer.MediaConnection;
    /**
     * Opens a data connection to `peerId`; the far side gets a `connection` event and needs no answer, and both sides'
     * connections emit `open`. Throws for an unknown `serialization`. Any `peerId` gets a connection, and when the
     * peer is not open it returns undefined after error `disconnected`, as for {@link call}.
     */
    connect(peerId: string, options?: Peer.ConnectOptions): Peer.DataConnection;
    /**
     * Joins the room `roomName` (1 to 128 characters, no control characters; unique per API key) in SFU mode: the server forwards the media.
     * The room's `open` fires once the server let this peer in. Joining a room this peer is in already returns that
     * room. An empty name emits error `room-error` and returns null; a peer that is not open emits `disconnected` and
     * returns null. Errors of the room later on (a refused join, `sfu-limited`, …) are this peer's `error` events, as
     * in SkyWay.
     */
    joinRoom(roomName: string, options: Peer.RoomOptions & { mode: "sfu" }): Peer.SFURoom;
    /** Joins the room `roomName` in mesh mode, the default: every member calls every other. See the SFU overload. */
    joinRoom(roomName: string, options?: Peer.RoomOptions & { mode?: "mesh" }): Peer.MeshRoom;
    /** Joins the room `roomName` in the mode `options.mode` says (SkyWay: any mode but `sfu` is mesh). */
    joinRoom(roomName: string, options?: Peer.RoomOptions): Peer.MeshRoom | Peer.SFURoom;
    /**
     * SkyWay's generic form: `peer.joinRoom<SfuRoom>(name, { mode: "sfu" })`; the page names the class its `mode`
     * gives. (null after an error event, as above; SkyWay's declarations left it out too.)
     */
    joinRoom<T extends Peer.Room>(roomName: string, options?: Peer.RoomOptions): T;
    /**
     * The connection with `peerId` whose ID is `connectionId` — closed ones too, as SkyWay searched
     * `peer.connections` — or null. `T` is SkyWay's: the kind the page expects.
     */
    getConnection<T extends Peer.MediaConnection | Peer.DataConnection = Peer.MediaConnection | Peer.DataConnection>(
        peerId: string,
        connectionId: string,
    ): T | null;
    /**
     * Closes every connection and room, emits `close`, closes the signaling socket and then emits `disconnected` if
     * it was open: SkyWay's order. The peer cannot be used again.
     */
    destroy(): void;
    /**
     * Closes the signaling socket, releasing the ID on the server; connections stay up. Emits `disconnected`.
     * @deprecated SkyWay 4.4 deprecated it; skywasm reconnects by itself after a network drop.
     */
    disconnect(): void;
    /**
     * Opens the signaling socket again after `disconnect`, asking for the same ID.
     * @deprecated SkyWay 4.4 deprecated it; skywasm reconnects by itself after a network drop.
     */
    reconnect(): void;
    /** Sends a fresh peer-authentication credential without reconnecting: the answer to `expiresin`. */
    updateCredential(credential: Peer.PeerCredential): void;
    /**
     * Calls `callback` with the IDs of every peer of this API key. Without the app's list-peers permission it gets `[]`
     * and the peer emits error `list-error`.
     */
    listAllPeers(callback: (peerIds: string[]) => void): void;
    /** Whether a peer with `peerId` is connected now. Rejects when not open, or when called again within a second. */
    fetchPeerExists(peerId: string): Promise<boolean>;

    /**
     * skywasm: loads and starts the SDK (sdk.wasm) now, or from another address; resolves once it is loaded, rejects if
     * it cannot be. Optional: `new Peer()` loads it by itself, from beside the script, which the script starts fetching
     * and compiling as soon as it runs; calling `init` early also starts the Go runtime, so the first Peer opens sooner.
     * Throws if `wasmURL` or `env` comes after the first Peer started loading the SDK. `serverURL` sets the server of
     * Peers made afterwards with neither `host` nor `port`.
     */
    static init(options?: Peer.InitOptions): Promise<void>;
    /** The events a Peer emits, as SkyWay's Enum: `Peer.EVENTS.open.key === "open"`. */
    static readonly EVENTS: Enum<"open" | "error" | "call" | "connection" | "expiresin" | "close" | "disconnected">;
    /** skywasm: the Go runtime's figures of the loaded SDK, for leak tests; null before it is loaded. */
    static debugStats(): Peer.DebugStats | null;
    /** The module's EventEmitter, for classic-script pages: `class Chat extends Peer.EventEmitter<{…}> {}`. */
    static readonly EventEmitter: typeof EventEmitter;
}

/**
 * Everything the SDK's objects use, reachable as `Peer.X` — the way a classic-script page names these types — and
 * exported by the module under the same names.
 */
export declare namespace Peer {
    // -----------------------------------------------------------------------------------------------------------------
    // Options

    /** `debug`: what the SDK logs to the console: 0 nothing, 1 errors, 2 warnings too, 3 everything. */
    type LogLevel = 0 | 1 | 2 | 3;

    /** The options of `new Peer`. */
    interface PeerOptions {
        /** The app's API key, a lower-case UUID; a malformed one gives error `invalid-key`. */
        key: string;
        /** Console logging; default 0. */
        debug?: LogLevel;
        /** Whether to add the server's TURN servers (with this peer's own credential) to `config`; default true. */
        turn?: boolean;
        /** The peer-authentication credential, for apps that require one; signed by the app's server for the ID. */
        credential?: PeerCredential;
        /** The RTCConfiguration of every connection; its `iceServers` are kept and TURN is added. */
        config?: RTCConfiguration;
        /**
         * The signaling server's host name; `"/"` is the page's. A missing one, with `port` given, is the default
         * server's. skywasm: with neither host nor port, the default server is the origin the SDK's script (or
         * module) was loaded from — the skywasm server — or `Peer.init({serverURL})`'s; the page's own origin only
         * when the script's is unknown.
         */
        host?: string;
        /** The signaling server's port; a missing one, with `host` given, is 443 or 80 by `secure`. */
        port?: number;
        /** Whether the server uses TLS (https/wss). As in SkyWay, left out it is true only when `port` is 443. */
        secure?: boolean;
        /**
         * skywasm: whether a connection whose ICE goes disconnected or failed tries to recover by ICE restarts through
         * the server (events `reconnecting`, then `reconnected` or `close`); default true. `false` is SkyWay's
         * behaviour: the connection closes at once. An SFU room's link never restarts.
         */
        iceRestart?: boolean;
        /**
         * skywasm: how long, in milliseconds, a connection may try to recover its ICE before it closes on both sides;
         * default 15000. Ignored with `iceRestart: false`.
         */
        iceRestartTimeout?: number;
        /**
         * skywasm: whether the Peer first asks its server which server to use (`GET /v1/dispatch`); default true. A
         * node of a skywasm cluster answers with its live nodes, least loaded first: the Peer connects to one, and
         * when that node dies it moves to another live node under the same ID, its connections running on and its
         * rooms rejoined. A single server answers with no nodes and is used itself. `false` connects to this server only.
         */
        dispatch?: boolean;
    }

    /** `peer.options`: the options as SkyWay's constructor kept them. */
    interface PeerOption {
        key: string;
        debug: LogLevel;
        /** undefined when the page left it out and the port is not 443: plain http and ws. */
        secure: boolean | undefined;
        /** The page's, or `{ iceServers: [], iceTransportPolicy: "all" }`; the server's TURN is added to a copy. */
        config: RTCConfiguration;
        turn: boolean;
        /** skywasm: the default server, which stands in for SkyWay's dispatcher (informational). */
        dispatcherSecure: boolean;
        /** skywasm: the default server's host name. */
        dispatcherHost: string;
        /** skywasm: the default server's port. */
        dispatcherPort: number;
        credential?: PeerCredential;
        /** `"/"` became the page's host name. */
        host?: string;
        port?: number;
        /** The session token with which a reconnecting socket takes its ID back; random per Peer. */
        token: string;
        /** skywasm: the page's, if it gave it (see {@link PeerOptions.iceRestart}). */
        iceRestart?: boolean;
        /** skywasm: the page's, if it gave it (see {@link PeerOptions.iceRestartTimeout}). */
        iceRestartTimeout?: number;
        /** skywasm: the page's, if it gave it (see {@link PeerOptions.dispatch}). */
        dispatch?: boolean;
    }

    /**
     * A peer-authentication credential: `authToken` is base64(HMAC-SHA256(secret, `${timestamp}:${ttl}:${peerId}`)),
     * computed by the app's own server, never by the page.
     */
    interface PeerCredential {
        /** When it was issued, in Unix seconds; not in the future. */
        timestamp: number;
        /** How long it is valid after `timestamp`, in seconds: 600 to 90000. */
        ttl: number;
        /** The signature. */
        authToken: string;
    }

    /** A video codec name (matched without regard to case); one the far side lacks is an error. */
    type VideoCodec = "VP8" | "VP9" | "H264" | "AV1" | (string & {});
    /** An audio codec name (matched without regard to case); one the far side lacks is an error. */
    type AudioCodec = "opus" | "G722" | "PCMU" | "PCMA" | (string & {});

    /** The bandwidth and codec options that calls, answers and rooms share. */
    interface MediaOptions {
        /** The most video this side sends, in kbit/s; default no limit. */
        videoBandwidth?: number;
        /** The most audio this side sends, in kbit/s; default no limit. */
        audioBandwidth?: number;
        /** Keep only this video codec. */
        videoCodec?: VideoCodec;
        /** Keep only this audio codec. */
        audioCodec?: AudioCodec;
    }

    /** The options of `peer.call`. */
    interface CallOptions extends MediaOptions {
        /** The connection's ID; default `mc_` and a random string. */
        connectionId?: string;
        /** Any JSON value; the far side reads it as `call.metadata`. */
        metadata?: any;
        /** A label for the connection. */
        label?: string;
        /**
         * Whether to receive video, as SkyWay's negotiator meant it: a kind the stream sends is received too (false is
         * ignored); a kind it does not send is received only when this is true; with no stream and neither option set,
         * both kinds are received. So an audio-only caller receives no video unless it asks.
         */
        videoReceiveEnabled?: boolean;
        /** Whether to receive audio; the same rule as `videoReceiveEnabled`. */
        audioReceiveEnabled?: boolean;
    }

    /**
     * The options of `mediaConnection.answer`. The receive options are accepted, as SkyWay's declarations had them, and
     * change nothing: the offer decides what an answer receives.
     */
    interface AnswerOptions extends MediaOptions {
        videoReceiveEnabled?: boolean;
        audioReceiveEnabled?: boolean;
    }

    /**
     * How a DataConnection encodes values. `binary` (the default) and `binary-utf8` send any structured value (see
     * {@link DataConnection.send}); `json` sends JSON text; `none` sends strings, ArrayBuffers, typed arrays and Blobs
     * as they are.
     */
    type Serialization = "binary" | "binary-utf8" | "json" | "none";

    /** The options of `peer.connect`. */
    interface ConnectOptions {
        /** The connection's ID; default `dc_` and a random string. */
        connectionId?: string;
        /** The data channel's label; default the connection's ID. */
        label?: string;
        /** Any JSON value; the far side reads it as `conn.metadata`. */
        metadata?: any;
        /** Default `binary`; any other string than these throws. An unreliable `dcInit` forces `binary`. */
        serialization?: Serialization;
        /** The data channel's configuration (`ordered`, `maxRetransmits`, `maxPacketLifeTime`). */
        dcInit?: RTCDataChannelInit;
    }

    /** skywasm: the options of `Peer.init`. */
    interface InitOptions {
        /** Where sdk.wasm is; default beside the script (`…/sdk/sdk.wasm`). */
        wasmURL?: string | URL;
        /** The Go runtime's environment variables, for diagnosis: `{GODEBUG: "inittrace=1"}` logs package init times. */
        env?: Record<string, string>;
        /**
         * The server that Peers with neither `host` nor `port` connect to; default the origin the script came from.
         * Only its origin counts. For a script inlined by a bundler, whose own URL is the page's.
         */
        serverURL?: string | URL;
    }

    /** skywasm: the Go runtime's figures, from `Peer.debugStats()`. */
    interface DebugStats {
        /** Goroutines running. */
        goroutines: number;
        /** Bytes of Go heap in use. */
        heapBytes: number;
        /** JavaScript objects (peers and connections) the SDK still holds. */
        handles: number;
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Errors

    /**
     * SkyWay's `err.type`. skywasm adds `invalid-message`: the server refused a message (a bug or a misbehaving
     * page, never the network), and `internal-error`: skywasm's own bug, a Go panic the SDK caught (please report
     * it with its message).
     */
    type PeerErrorType =
        | "invalid-id"
        | "invalid-key"
        | "invalid-domain"
        | "authentication"
        | "unavailable-id"
        | "peer-unavailable"
        | "permission"
        | "room-error"
        | "disconnected"
        | "socket-error"
        | "server-error"
        | "list-error"
        | "signaling-limited"
        | "sfu-limited"
        | "turn-limited"
        | "invalid-message"
        | "internal-error";

    /** The error of a peer's `error` event: an Error whose `type` says what failed; `message` is not stable. */
    interface PeerError extends Error {
        /** What failed; switch on this, not on `message`. */
        type: PeerErrorType;
        /** skywasm: the connection the error concerns, when it concerns one. */
        connectionId?: string;
    }

    /**
     * The error of a connection's `error` event. Some have no `type` (SkyWay gave none either), such as sending before
     * the connection is open.
     */
    interface ConnectionError extends Error {
        /** What failed, when it is one of SkyWay's error types. */
        type?: PeerErrorType;
        /** skywasm: the connection's ID. */
        connectionId?: string;
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Peer events

    /** The events of a Peer. */
    interface PeerEvents {
        /**
         * The server accepted the peer under `id`. Once per Peer, as in SkyWay: again only after `reconnect()`, not
         * after a reconnection the SDK made by itself (that is `reconnected`).
         */
        open: (id: string) => void;
        /**
         * skywasm: the signaling socket dropped (`disconnected`, then error `socket-error` "Lost connection to
         * server.") and the SDK reconnected by itself under the same `id`. Connections stayed up meanwhile.
         */
        reconnected: (id: string) => void;
        /** A remote peer calls: answer it with `call.answer(stream)`, or close it. */
        call: (call: MediaConnection) => void;
        /** A remote peer opened a data connection to this one. */
        connection: (conn: DataConnection) => void;
        /** The peer was destroyed; `disconnected` follows if it was open. */
        close: () => void;
        /**
         * The open signaling socket closed (`disconnect()`, `destroy()`, a refusal, or a lost connection, which
         * `reconnected` ends); `id` is the peer's ID.
         */
        disconnected: (id: string) => void;
        /** The credential expires in `seconds`: call `updateCredential` with a fresh one. */
        expiresin: (seconds: number) => void;
        /** Something failed; `err.type` says what. */
        error: (err: PeerError) => void;
    }

    // -----------------------------------------------------------------------------------------------------------------
    // MediaConnection

    /** The events of a MediaConnection. */
    interface MediaConnectionEvents {
        /** The far side's media arrived: once per remote stream. */
        stream: (stream: MediaStream) => void;
        /** The call ended. skywasm: on both sides within a second, whichever way it ended. */
        close: () => void;
        /** Something failed on this call (typed as SkyWay did; see {@link ConnectionError}). */
        error: (err: PeerError) => void;
        /**
         * skywasm (not in SkyWay, nor in `EVENTS`): the connection's ICE went disconnected or failed and it is trying
         * to recover (options `iceRestart`, `iceRestartTimeout`), once per outage; `reconnected` or `close` follows.
         */
        reconnecting: () => void;
        /** skywasm (not in SkyWay, nor in `EVENTS`): ICE is connected again after `reconnecting`. */
        reconnected: () => void;
    }

    /**
     * A call, from `peer.call` or the `call` event; not made with `new`. The callee answers it; both sides then get the
     * far side's media in the `stream` event.
     */
    class MediaConnection extends EventEmitter<MediaConnectionEvents> {
        /** Made by the SDK only: a page gets one from the peer. */
        private constructor();
        /** SkyWay's events of a MediaConnection, as its Enum. */
        static readonly EVENTS: Enum<"stream" | ConnectionEventKey>;
        /** The connection's ID: `mc_…` unless `connectionId` was given. */
        readonly id: string;
        /** Always `"media"`. */
        readonly type: "media";
        /** The far side's peer ID. */
        readonly remoteId: string;
        /** @deprecated SkyWay's (and PeerJS's) alias of `remoteId`. */
        readonly peer: string;
        /** The far side's stream, the last `stream` event's; undefined before it. */
        readonly remoteStream: MediaStream | undefined;
        /** The caller's `metadata` option (undefined if none). */
        readonly metadata: any;
        /** True while the call is connected. */
        readonly open: boolean;
        /**
         * The stream this side sends; null if none. Typed non-null as SkyWay's declarations had it, so that pages typed
         * for SkyWay compile: check it before use.
         */
        readonly localStream: MediaStream;
        /** Answers the call, sending `stream` (none: receive only). A second answer only warns. */
        answer(stream?: MediaStream | null, options?: AnswerOptions): void;
        /** Sends `stream` instead: tracks are replaced per kind; adding or removing a kind renegotiates. */
        replaceStream(stream: MediaStream): void;
        /** The underlying RTCPeerConnection, or null once closed. */
        getPeerConnection(): RTCPeerConnection | null;
        /**
         * Ends the call, then emits `close`. `forceClose` is SkyWay's "tell the far side through the server";
         * skywasm always does, so the far side's `close` follows at once either way.
         */
        close(forceClose?: boolean): void;
    }

    // -----------------------------------------------------------------------------------------------------------------
    // DataConnection

    /** The events of a DataConnection. */
    interface DataConnectionEvents {
        /** The channel is up: `send` works from now on. */
        open: () => void;
        /**
         * A value arrived. Its type is whatever the far side sent, decoded per `serialization` (see
         * {@link DataConnection.send}), so it is `any`: check it before use.
         */
        data: (data: any) => void;
        /** The connection ended, on both sides. */
        close: () => void;
        /**
         * Something failed on this connection, such as `send` before `open`. Typed as SkyWay did; `type` may be
         * missing (see {@link ConnectionError}).
         */
        error: (err: PeerError) => void;
        /**
         * skywasm (not in SkyWay, nor in `EVENTS`): the connection's ICE went disconnected or failed and it is trying
         * to recover (options `iceRestart`, `iceRestartTimeout`), once per outage; `reconnected` or `close` follows.
         */
        reconnecting: () => void;
        /** skywasm (not in SkyWay, nor in `EVENTS`): ICE is connected again after `reconnecting`. */
        reconnected: () => void;
    }

    /** A data channel to another peer, from `peer.connect` or the `connection` event; not made with `new`. */
    class DataConnection extends EventEmitter<DataConnectionEvents> {
        /** Made by the SDK only: a page gets one from the peer. */
        private constructor();
        /** SkyWay's events of a DataConnection, as its Enum. */
        static readonly EVENTS: Enum<"open" | "data" | "error" | ConnectionEventKey>;
        /** The connection's ID: `dc_…` unless `connectionId` was given. */
        readonly id: string;
        /** Always `"data"`. */
        readonly type: "data";
        /** The data channel's label. */
        readonly label: string;
        /** How values are encoded; the answering side mirrors the offerer's. */
        readonly serialization: Serialization;
        /** The data channel's configuration (`{}` for the default); mirrored like `serialization`. */
        readonly dcInit: RTCDataChannelInit;
        /** The opener's `metadata` option (undefined if none). */
        readonly metadata: any;
        /** The far side's peer ID. */
        readonly remoteId: string;
        /** @deprecated SkyWay's (and PeerJS's) alias of `remoteId`. */
        readonly peer: string;
        /** True while the channel is up. */
        readonly open: boolean;
        /**
         * Sends `data`. With `binary` (the default) or `binary-utf8`: strings, numbers, booleans, null, arrays, plain
         * objects, Date, ArrayBuffer, typed arrays and DataView, Blob and File, nested in any way; the far side gets
         * the same values, except that ArrayBuffers and typed arrays arrive as ArrayBuffer, and integers beyond ±2^53 as
         * BigInt. With `json`: what JSON.stringify takes. With `none`: strings, ArrayBuffers, typed arrays, Blobs.
         *
         * skywasm: resolves true once the value has been handed to the data channel — so `await conn.send(piece)` paces
         * a large transfer — or false if it was not sent (not open, closed, unsupported value), after an `error` event
         * saying why. It never rejects. (SkyWay returned undefined.)
         */
        send(data: unknown): Promise<boolean>;
        /**
         * Ends the connection, then emits `close` on both sides. `forceClose` is SkyWay's "tell the far side through
         * the server".
         */
        close(forceClose?: boolean): void;
        /** The underlying RTCPeerConnection, or null once closed. */
        getPeerConnection(): RTCPeerConnection | null;
    }

    // -----------------------------------------------------------------------------------------------------------------
    // Rooms

    /** `mesh`: every member calls every other; `sfu`: every member sends once to the server, which forwards. */
    type RoomMode = "mesh" | "sfu";

    /** The options of `peer.joinRoom(name, options)`. */
    interface RoomOptions extends MediaOptions {
        /** Default `mesh`. SkyWay: any other value than `sfu` is mesh too. */
        mode?: RoomMode;
        /** The stream this peer sends to the room; none: receive only. */
        stream?: MediaStream | null;
        /**
         * Whether to receive video. Mesh: SkyWay's rule for calls (see {@link CallOptions.videoReceiveEnabled}). SFU:
         * false receives none, anything else all.
         */
        videoReceiveEnabled?: boolean;
        /** Whether to receive audio; as `videoReceiveEnabled`. */
        audioReceiveEnabled?: boolean;
    }

    /** A remote member's stream: `peerId` says whose it is. */
    type RoomStream = MediaStream & { peerId: string };

    /** A message `src` sent to the room with `room.send`. */
    interface RoomData {
        /** The sender's peer ID. */
        src: string;
        /**
         * The value sent, decoded as a DataConnection's `binary` serialization decodes it (ArrayBuffers and typed
         * arrays as ArrayBuffer, Blob and File as themselves, …), so it is `any`: check it before use.
         */
        data: any;
    }

    /** One entry of a room's log once parsed: the `log` event brings JSON strings, as SkyWay's did. */
    interface RoomLogEntry {
        /** What happened. */
        messageType: "ROOM_USER_JOIN" | "ROOM_USER_LEAVE" | "ROOM_DATA";
        /** The event as the members got it. */
        message: {
            roomName: string;
            /** The peer it concerns. */
            src: string;
            /** The data of a ROOM_DATA sent as JSON text, when small enough to be logged. */
            data?: any;
            /** The data's size in bytes, for a ROOM_DATA whose data was left out. */
            size?: number;
        };
        /** When, in Unix milliseconds. */
        timestamp: number;
    }

    /** The events of a MeshRoom or SFURoom. */
    interface RoomEvents {
        /** This peer is in the room; `members` lists who was there already. */
        open: () => void;
        /** `peerId` joined the room. */
        peerJoin: (peerId: string) => void;
        /** `peerId` left the room. */
        peerLeave: (peerId: string) => void;
        /**
         * A member's stream arrived: once per stream. In an SFU room it may come before that member's `peerJoin`.
         */
        stream: (stream: RoomStream) => void;
        /** A member sent a message to the room. */
        data: (message: RoomData) => void;
        /**
         * The room's log, the answer to `getLog()`: as in SkyWay, an array of JSON strings, each parsing to a
         * {@link RoomLogEntry} (`JSON.parse(logStr)`).
         */
        log: (logs: string[]) => void;
        /** This peer left the room (`close()`, a refused join, or `peer.destroy()`). */
        close: () => void;
    }

    /**
     * What MeshRoom and SFURoom share: a type only (the module exports the two classes). A room's errors are the
     * peer's `error` events, as in SkyWay; a room has no `error` event of its own.
     */
    interface Room extends EventEmitter<RoomEvents> {
        /** The room's name, unique per API key. */
        readonly name: string;
        /** skywasm: the other members' peer IDs in the order they joined, in both kinds of room (SkyWay: SFURoom). */
        readonly members: string[];
        /**
         * Sends `data` to every other member through the signaling server; the sender does not get it back. Any value
         * a DataConnection's `binary` serialization takes (see {@link DataConnection.send}). Throws (an Error of type
         * `room-error`) when it is over 20 MB; faster than one message per 100 ms, messages queue and go out in order.
         * Sent before `open`, it waits for it.
         */
        send(data: unknown): void;
        /** Leaves the room, then emits `close`. */
        close(): void;
        /** Sends `stream` to the room instead of the current one. */
        replaceStream(stream: MediaStream): void;
        /** Asks the server for the room's log; it arrives in the `log` event. */
        getLog(): void;
    }

    /** What a MeshRoom is besides a {@link Room}; merged into the class. */
    interface MeshRoom extends Room {}

    /** A room where every member calls every other: `peer.joinRoom(name)`; not made with `new`. */
    class MeshRoom extends EventEmitter<RoomEvents> {
        /** Made by the SDK only: a page gets one from `peer.joinRoom`. */
        private constructor();
        /** SkyWay's events of a MeshRoom, as its Enum. */
        static readonly EVENTS: Enum<RoomEventKey>;
        /**
         * The calls with the other members, one each, by peer ID. Each emits its own `stream` and `close` from the time
         * the page first reads it here; the room's `stream` and `peerLeave` tell the same.
         */
        readonly connections: { [peerId: string]: MediaConnection[] };
        /** The RTCPeerConnection of each call, by peer ID. */
        getPeerConnections(): { [peerId: string]: RTCPeerConnection };
    }

    /** What an SFURoom is besides a {@link Room}; merged into the class. */
    interface SFURoom extends Room {}

    /** A room whose media goes through the server (SFU): `peer.joinRoom(name, { mode: "sfu" })`; not made with `new`. */
    class SFURoom extends EventEmitter<RoomEvents> {
        /** Made by the SDK only: a page gets one from `peer.joinRoom`. */
        private constructor();
        /** SkyWay's events of an SFURoom, as its Enum. */
        static readonly EVENTS: Enum<RoomEventKey>;
        /**
         * The streams of the members still in the room, by stream ID (SkyWay's shape). A stream appears here when its
         * `stream` event fires and leaves with its member's `peerLeave`.
         */
        readonly remoteStreams: { [streamId: string]: RoomStream };
        /** The one RTCPeerConnection with the server; null before the server's first offer and after `close`. */
        getPeerConnection(): RTCPeerConnection | null;
    }
}

// ---------------------------------------------------------------------------------------------------------------------
// The module's exports: what skywasm.mjs exports, plus the types under the same names as `Peer.X`.
// ---------------------------------------------------------------------------------------------------------------------

export default Peer;

/** A call; the same class as `Peer.MediaConnection`. */
export import MediaConnection = Peer.MediaConnection;
/** A data channel to another peer; the same class as `Peer.DataConnection`. */
export import DataConnection = Peer.DataConnection;
/** A mesh room; the same class as `Peer.MeshRoom`. */
export import MeshRoom = Peer.MeshRoom;
/** An SFU room; the same class as `Peer.SFURoom`. */
export import SFURoom = Peer.SFURoom;
/** SFURoom under the name SkyWay's declarations gave it (skywasm.mjs exports it too). */
export import SfuRoom = Peer.SFURoom;

/** See {@link Peer.PeerOptions}. */
export type PeerOptions = Peer.PeerOptions;
/** See {@link Peer.LogLevel}. */
export type LogLevel = Peer.LogLevel;
/** See {@link Peer.PeerCredential}. */
export type PeerCredential = Peer.PeerCredential;
/** See {@link Peer.VideoCodec}. */
export type VideoCodec = Peer.VideoCodec;
/** See {@link Peer.AudioCodec}. */
export type AudioCodec = Peer.AudioCodec;
/** See {@link Peer.MediaOptions}. */
export type MediaOptions = Peer.MediaOptions;
/** See {@link Peer.CallOptions}. */
export type CallOptions = Peer.CallOptions;
/** See {@link Peer.AnswerOptions}. */
export type AnswerOptions = Peer.AnswerOptions;
/** See {@link Peer.Serialization}. */
export type Serialization = Peer.Serialization;
/** See {@link Peer.ConnectOptions}. */
export type ConnectOptions = Peer.ConnectOptions;
/** See {@link Peer.InitOptions}. */
export type InitOptions = Peer.InitOptions;
/** See {@link Peer.DebugStats}. */
export type DebugStats = Peer.DebugStats;
/** See {@link Peer.PeerErrorType}. */
export type PeerErrorType = Peer.PeerErrorType;
/** See {@link Peer.PeerError}. */
export type PeerError = Peer.PeerError;
/** See {@link Peer.ConnectionError}. */
export type ConnectionError = Peer.ConnectionError;
/** See {@link Peer.PeerEvents}. */
export type PeerEvents = Peer.PeerEvents;
/** See {@link Peer.MediaConnectionEvents}. */
export type MediaConnectionEvents = Peer.MediaConnectionEvents;
/** See {@link Peer.DataConnectionEvents}. */
export type DataConnectionEvents = Peer.DataConnectionEvents;
/** See {@link Peer.RoomMode}. */
export type RoomMode = Peer.RoomMode;
/** See {@link Peer.RoomOptions}. */
export type RoomOptions = Peer.RoomOptions;
/** See {@link Peer.RoomStream}. */
export type RoomStream = Peer.RoomStream;
/** See {@link Peer.RoomData}. */
export type RoomData = Peer.RoomData;
/** See {@link Peer.RoomLogEntry}. */
export type RoomLogEntry = Peer.RoomLogEntry;
/** See {@link Peer.RoomEvents}. */
export type RoomEvents = Peer.RoomEvents;
/** See {@link Peer.Room}. */
export type Room = Peer.Room;

// SkyWay's own type names (skyway-js.d.ts), so that a project typed for SkyWay compiles unchanged.
/** SkyWay's name for {@link PeerOptions}. */
export type PeerConstructorOption = Peer.PeerOptions;
/** What `peer.options` holds. */
export type PeerOption = Peer.PeerOption;
/** SkyWay's name for {@link CallOptions}. */
export type CallOption = Peer.CallOptions;
/** SkyWay's name for {@link ConnectOptions}. */
export type ConnectOption = Peer.ConnectOptions;
/** SkyWay's name for {@link AnswerOptions}. */
export type AnswerOption = Peer.AnswerOptions;
/** SkyWay's name for {@link RoomOptions}. */
export type RoomOption = Peer.RoomOptions;
