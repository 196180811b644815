// A typed page using every member of skywasm's JS API through the ES module: a 1:1 call, a data connection sending
// each kind of value, errors handled by type, and the peer's other methods. It is compiled (never run) by
// `npx tsc -p js/tsconfig.json`; the expectType lines pin the types a SkyWay page relies on.

import Peer, { DataConnection, EventEmitter, MediaConnection, MeshRoom, Peer as NamedPeer, SFURoom } from "skywasm";
import type {
    AnswerOptions,
    CallOptions,
    ConnectOptions,
    DebugStats,
    PeerCredential,
    PeerError,
    PeerErrorType,
    PeerOption,
    PeerOptions,
    Room,
    RoomData,
    RoomLogEntry,
    RoomMode,
    RoomOptions,
    RoomStream,
    Serialization,
} from "skywasm";
import { expectType, type Exact } from "./expect.js";

// The default and the named export are the same class, and the connection classes are its statics too.
expectType<Exact<typeof NamedPeer, typeof Peer>>(true);
expectType<Exact<typeof Peer.MediaConnection, typeof MediaConnection>>(true);
expectType<Exact<typeof Peer.DataConnection, typeof DataConnection>>(true);
expectType<Exact<typeof Peer.EventEmitter, typeof EventEmitter>>(true);
expectType<Exact<typeof Peer.MeshRoom, typeof MeshRoom>>(true);
expectType<Exact<typeof Peer.SFURoom, typeof SFURoom>>(true);
expectType<Exact<Peer.PeerOptions, PeerOptions>>(true);

/** What the app's server hands out for peer authentication. */
declare function fetchCredential(peerId: string): Promise<PeerCredential>;
declare const API_KEY: string;

async function main(): Promise<void> {
    // skywasm: load the SDK early, from wherever it is served.
    await Peer.init({ wasmURL: new URL("/sdk/sdk.wasm", location.href) });
    await Peer.init({ wasmURL: "/sdk/sdk.wasm" });
    await Peer.init();
    const stats = Peer.debugStats();
    expectType<Exact<typeof stats, DebugStats | null>>(true);
    if (stats) console.log(stats.goroutines, stats.heapBytes, stats.handles);

    const options: PeerOptions = {
        key: API_KEY,
        debug: 3,
        turn: true,
        credential: await fetchCredential("alice"),
        config: { iceServers: [{ urls: "stun:stun.example.com:3478" }], iceTransportPolicy: "all" },
        host: "skywasm.example.com",
        port: 443,
        secure: true,
    };
    const peer = new Peer("alice", options);
    new Peer({ key: API_KEY }).destroy();
    new Peer(null, { key: API_KEY, debug: 0 }).destroy();
    new Peer(undefined, { key: API_KEY, turn: false }).destroy();
    // skywasm's ICE recovery: off as in SkyWay, or with its own deadline in milliseconds.
    new Peer({ key: API_KEY, iceRestart: false }).destroy();
    new Peer({ key: API_KEY, iceRestartTimeout: 30000 }).destroy();
    new Peer({ key: API_KEY, dispatch: false }).destroy();

    expectType<Exact<typeof peer.id, string | null>>(true);
    expectType<Exact<typeof peer.open, boolean>>(true);
    expectType<Exact<typeof peer.options, PeerOption>>(true);
    for (const [remoteId, connections] of Object.entries(peer.connections)) {
        for (const c of connections) {
            // `type` tells the two kinds apart.
            if (c.type === "media") expectType<Exact<typeof c, MediaConnection>>(true);
            else expectType<Exact<typeof c, DataConnection>>(true);
            console.log(remoteId, c.id);
        }
    }

    peer.on("open", id => {
        expectType<Exact<typeof id, string>>(true);
        void call(peer, "bob");
        connect(peer, "bob");
    });
    peer.on("call", incoming => {
        expectType<Exact<typeof incoming, MediaConnection>>(true);
        void answer(incoming);
    });
    peer.on("connection", conn => {
        expectType<Exact<typeof conn, DataConnection>>(true);
        useData(conn);
    });
    peer.on("close", () => console.log("destroyed"));
    peer.on("disconnected", id => expectType<Exact<typeof id, string>>(true));
    peer.on("expiresin", async seconds => {
        expectType<Exact<typeof seconds, number>>(true);
        peer.updateCredential(await fetchCredential(peer.id ?? "alice"));
    });
    peer.on("error", err => {
        expectType<Exact<typeof err, PeerError>>(true);
        expectType<Exact<typeof err.type, PeerErrorType>>(true);
        console.warn(describe(err), err.message, err.connectionId);
    });

    // EventEmitter: chaining, once/off, listeners, the page's own events.
    const onOpen = (id: string): void => console.log("open", id);
    peer.once("open", onOpen).addListener("close", () => {}).removeListener("open", onOpen);
    peer.off("open", onOpen);
    peer.prependListener("open", onOpen).removeListener("open", onOpen);
    const openListeners = peer.listeners("open");
    expectType<Exact<typeof openListeners, Array<(id: string) => void>>>(true);
    console.log(peer.listenerCount("call"), peer.eventNames());
    peer.on("my-app-event", (a, b) => console.log(a, b)); // events a page emits itself take any arguments
    const hadListeners: boolean = peer.emit("my-app-event", 1, "two");
    peer.emit("open", "alice"); // a declared event's arguments are checked
    console.log(hadListeners);
    peer.removeAllListeners("my-app-event");

    // The REST side of the peer.
    peer.listAllPeers(ids => {
        expectType<Exact<typeof ids, string[]>>(true);
    });
    try {
        const exists = await peer.fetchPeerExists("bob");
        expectType<Exact<typeof exists, boolean>>(true);
    } catch (err) {
        console.warn("fetchPeerExists", err);
    }

    const found = peer.getConnection("bob", "mc_123");
    expectType<Exact<typeof found, MediaConnection | DataConnection | null>>(true);

    // Rooms: the mode chooses the class.
    await joinRooms(peer);
    for (const room of Object.values(peer.rooms)) useRoom(room);

    peer.disconnect();
    peer.reconnect();
    peer.removeAllListeners();
    peer.destroy();
}

/** SkyWay's error types, every one handled: the `never` default proves the union is what this switch covers. */
function describe(err: PeerError): string {
    switch (err.type) {
        case "invalid-id":
        case "invalid-key":
        case "invalid-domain":
        case "authentication":
        case "permission":
            return "configuration";
        case "unavailable-id":
            return "ID taken";
        case "peer-unavailable":
            return "no such peer";
        case "room-error":
            return "room";
        case "disconnected":
        case "socket-error":
            return "network";
        case "server-error":
        case "list-error":
            return "server";
        case "signaling-limited":
        case "sfu-limited":
        case "turn-limited":
            return "over a limit";
        case "invalid-message":
            return "refused message";
        case "internal-error":
            return "skywasm bug";
        default: {
            const unknownType: never = err.type;
            return unknownType;
        }
    }
}

/** A 1:1 call: getUserMedia, call, show the far side's stream. */
async function call(peer: Peer, remoteId: string): Promise<void> {
    const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const opts: CallOptions = {
        connectionId: "mc_custom",
        metadata: { name: "Alice" },
        label: "main",
        videoBandwidth: 1500,
        audioBandwidth: 64,
        videoCodec: "VP9",
        audioCodec: "opus",
        videoReceiveEnabled: true,
        audioReceiveEnabled: true,
    };
    const mc = peer.call(remoteId, local, opts);
    if (!mc) return; // not open: the peer emitted error `disconnected`
    useMedia(mc);

    const receiveOnly = peer.call(remoteId, null, { videoCodec: "some-future-codec" }); // any codec name is allowed
    receiveOnly?.close();
    peer.call(remoteId)?.close(true);

    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
    mc.replaceStream(screen);
}

/** The callee's side: answer with its own camera. */
async function answer(mc: MediaConnection): Promise<void> {
    console.log(mc.remoteId, mc.metadata?.name);
    const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const opts: AnswerOptions = { videoBandwidth: 800, audioBandwidth: 32, videoCodec: "H264", audioCodec: "opus" };
    mc.answer(local, opts);
    useMedia(mc);
}

function useMedia(mc: MediaConnection): void {
    expectType<Exact<typeof mc.id, string>>(true);
    expectType<Exact<typeof mc.type, "media">>(true);
    expectType<Exact<typeof mc.localStream, MediaStream>>(true);
    expectType<Exact<typeof mc.open, boolean>>(true);
    const video = document.querySelector("video");
    mc.on("stream", stream => {
        expectType<Exact<typeof stream, MediaStream>>(true);
        if (video) video.srcObject = stream;
    })
        .on("close", () => {
            if (video) video.srcObject = null;
        })
        .on("error", err => {
            expectType<Exact<typeof err, PeerError>>(true);
            console.warn(err.type ?? "untyped", err.message);
        })
        .on("reconnecting", () => console.log("the call is recovering"))
        .on("reconnected", () => console.log("the call is back"));
    const reconnecting = mc.listeners("reconnecting");
    expectType<Exact<typeof reconnecting, Array<() => void>>>(true);
    const pc = mc.getPeerConnection();
    expectType<Exact<typeof pc, RTCPeerConnection | null>>(true);
    pc?.getStats().then(report => console.log(report.size));
    if (mc instanceof Peer.MediaConnection && mc instanceof MediaConnection) console.log("the same class");
}

/** Data connections with each serialization and each kind of value. */
function connect(peer: Peer, remoteId: string): void {
    const serializations: Serialization[] = ["binary", "binary-utf8", "json", "none"];
    for (const serialization of serializations) {
        const opts: ConnectOptions = {
            connectionId: `dc_${serialization}`,
            label: "chat",
            metadata: { room: "lobby" },
            serialization,
            dcInit: { ordered: true },
        };
        const conn = peer.connect(remoteId, opts);
        if (conn) useData(conn);
    }
    peer.connect(remoteId, { dcInit: { ordered: false, maxRetransmits: 0 } })?.close(true); // unreliable: binary
    peer.connect(remoteId)?.close();
}

function useData(conn: DataConnection): void {
    expectType<Exact<typeof conn.type, "data">>(true);
    expectType<Exact<typeof conn.serialization, Serialization>>(true);
    expectType<Exact<typeof conn.dcInit, RTCDataChannelInit>>(true);
    console.log(conn.id, conn.label, conn.remoteId, conn.metadata, conn.open, conn.dcInit.ordered);

    conn.on("reconnecting", () => console.log("the channel is recovering")).on("reconnected", () => console.log("back"));
    conn.on("open", async () => {
        const sent = conn.send("hello");
        expectType<Exact<typeof sent, Promise<boolean>>>(true);
        if (!(await sent)) return; // an error event says why
        const bytes = new Uint8Array([1, 2, 3]);
        const values: unknown[] = [
            "text",
            42,
            1.5,
            true,
            null,
            [1, "two", [3]],
            { kind: "chat", text: "hi", at: new Date() },
            new Date(),
            bytes.buffer,
            bytes,
            new Float32Array(4),
            new DataView(bytes.buffer),
            new Blob(["blob"], { type: "text/plain" }),
            new File(["file"], "notes.txt", { type: "text/plain" }),
            { nested: { file: new File([], "empty.bin"), list: [new Blob([]), { deep: [bytes] }] } },
        ];
        for (const value of values) {
            if (!(await conn.send(value))) break; // back-pressure: one value at a time
        }
    });
    conn.on("data", data => {
        // Whatever the far side sent: any, to be checked before use.
        expectType<Exact<typeof data, any>>(true);
        if (data instanceof ArrayBuffer) console.log(data.byteLength);
        else if (data instanceof File) console.log(data.name);
        else if (typeof data === "string") console.log(data.toUpperCase());
    });
    conn.on("close", () => console.log("closed", conn.id));
    conn.on("error", err => {
        expectType<Exact<typeof err, PeerError>>(true);
        if (err.type === "disconnected") console.log("closed before sending");
    });
    conn.getPeerConnection()?.close();
}

/** joinRoom's overloads: mode sfu gives an SFURoom, the default a MeshRoom, a mode known only at run time either. */
async function joinRooms(peer: Peer): Promise<void> {
    const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const sfu = peer.joinRoom("stage", { mode: "sfu", stream: local, videoReceiveEnabled: true, audioReceiveEnabled: false });
    expectType<Exact<typeof sfu, SFURoom>>(true);
    const mesh = peer.joinRoom("lobby", { stream: local, videoBandwidth: 800, videoCodec: "VP8", audioCodec: "opus" });
    expectType<Exact<typeof mesh, MeshRoom>>(true);
    const meshToo = peer.joinRoom("lobby", { mode: "mesh" });
    expectType<Exact<typeof meshToo, MeshRoom>>(true);
    const listener = peer.joinRoom("audience");
    expectType<Exact<typeof listener, MeshRoom>>(true);
    const mode: RoomMode = location.hash === "#sfu" ? "sfu" : "mesh";
    const options: RoomOptions = { mode, stream: null, audioBandwidth: 32 };
    const either = peer.joinRoom("chosen", options);
    expectType<Exact<typeof either, MeshRoom | SFURoom>>(true);
    if (either instanceof SFURoom) expectType<Exact<typeof either, SFURoom>>(true);
    else if (either instanceof Peer.MeshRoom) expectType<Exact<typeof either, MeshRoom>>(true);
    if (!sfu || !mesh) return; // an error event on the peer says why
    const rooms = peer.rooms;
    expectType<Exact<typeof rooms, { [roomName: string]: MeshRoom | SFURoom }>>(true);
    const base: Room = sfu;
    console.log(base.name, mesh === peer.joinRoom("lobby"));

    // SFURoom: one PeerConnection with the server; the members' streams by stream ID.
    const pc = sfu.getPeerConnection();
    expectType<Exact<typeof pc, RTCPeerConnection | null>>(true);
    for (const [streamId, stream] of Object.entries(sfu.remoteStreams)) {
        expectType<Exact<typeof stream, RoomStream>>(true);
        console.log(streamId === stream.id, stream.peerId);
    }
    // MeshRoom: one call per member.
    for (const [peerId, calls] of Object.entries(mesh.connections)) {
        expectType<Exact<typeof calls, MediaConnection[]>>(true);
        for (const c of calls) console.log(peerId === c.remoteId, c.open, c.getPeerConnection()?.connectionState);
    }
    const pcs = mesh.getPeerConnections();
    expectType<Exact<typeof pcs, { [peerId: string]: RTCPeerConnection }>>(true);

    // room.send throws over 20 MB.
    try {
        mesh.send(new Uint8Array(21 * 1024 * 1024));
    } catch (err) {
        console.warn((err as Peer.PeerError).type === "room-error");
    }
    mesh.replaceStream(await navigator.mediaDevices.getDisplayMedia({ video: true }));
}

/** Both kinds of room through what they share. */
function useRoom(room: MeshRoom | SFURoom): void {
    const members = room.members;
    expectType<Exact<typeof members, string[]>>(true);
    console.log(room.name, members.length);
    room.on("open", () => room.send({ hello: room.name, at: new Date(), file: new File(["x"], "x.txt") }))
        .on("peerJoin", id => expectType<Exact<typeof id, string>>(true))
        .on("peerLeave", id => expectType<Exact<typeof id, string>>(true))
        .on("stream", stream => {
            expectType<Exact<typeof stream, RoomStream>>(true);
            console.log(stream.peerId, stream.getTracks().length);
        })
        .on("data", message => {
            expectType<Exact<typeof message, RoomData>>(true);
            expectType<Exact<typeof message.data, any>>(true);
            console.log(message.src, message.data);
        })
        .on("log", entries => {
            expectType<Exact<typeof entries, string[]>>(true);
            for (const text of entries) {
                const e: RoomLogEntry = JSON.parse(text);
                console.log(e.messageType, e.message.src, new Date(e.timestamp), e.message.size ?? 0);
            }
        })
        .on("close", () => console.log("left", room.name));
    room.getLog();
    if (room instanceof SFURoom) {
        console.log(Object.keys(room.remoteStreams), room.getPeerConnection());
    } else {
        expectType<Exact<typeof room, MeshRoom>>(true);
        console.log(Object.keys(room.connections), room.getPeerConnections());
    }
    if ("remoteStreams" in room) expectType<Exact<typeof room, SFURoom>>(true);
    room.close();
}

/** The page's own emitter, typed the same way. */
class Chat extends EventEmitter<{ message: (from: string, text: string) => void }> {
    say(text: string): void {
        this.emit("message", "me", text);
    }
}
new Chat().on("message", (from, text) => expectType<Exact<[typeof from, typeof text], [string, string]>>(true)).say("hi");
new EventEmitter().on("anything", (...args) => console.log(args)).emit("anything", 1, 2, 3);

void main();
