// A TypeScript page written against SkyWay 4.4.5's own declarations (skyway-js.d.ts): its type names, its generic
// joinRoom<T>() and getConnection<T>(), its non-null returns. Only the import's module name differs from a SkyWay
// project's ("skyway-js"). It is compiled (never run) by `npx tsc -p js/tsconfig.json`, which proves that a project
// typed for SkyWay type-checks unchanged against index.d.ts.

import Peer, { MediaConnection, DataConnection, MeshRoom, SfuRoom } from "skywasm";
import type {
    AnswerOption,
    CallOption,
    ConnectOption,
    PeerConstructorOption,
    PeerCredential,
    PeerError,
    RoomData,
    RoomOption,
    RoomStream,
} from "skywasm";

const credential: PeerCredential = { timestamp: 1700000000, ttl: 3600, authToken: "token" };
const peerOptions: PeerConstructorOption = { key: "00000000-0000-4000-8000-000000000000", debug: 3, credential };
const peer = new Peer("alice", peerOptions);
const peer2 = new Peer({ key: peerOptions.key, host: "/", port: 443, secure: true, turn: false, config: {} });

// peer.options as SkyWay typed it: what the constructor kept.
const token: string = peer.options.token;
const secure: boolean | undefined = peer.options.secure;
const dispatcher: string = `${peer.options.dispatcherHost}:${peer.options.dispatcherPort} ${peer.options.dispatcherSecure}`;
const rtc: RTCConfiguration = peer.options.config;
console.log(token, secure, dispatcher, rtc, peer.options.key, peer.options.host, peer.options.port);

peer.on("open", (id: string) => console.log(id));
peer.on("error", (err: PeerError) => console.log(err.type === "peer-unavailable", err.message));
peer.on("disconnected", (id: string) => console.log(id));
peer.on("expiresin", (sec: number) => peer.updateCredential({ ...credential, ttl: sec }));
peer.on("close", () => peer2.destroy());
peer.once("open", () => peer.listAllPeers((peers: string[]) => console.log(peers.length)));

async function telephone(stream: MediaStream): Promise<void> {
    const callOptions: CallOption = {
        metadata: { any: "thing" },
        connectionId: "mc_1",
        videoBandwidth: 500,
        audioBandwidth: 64,
        videoCodec: "VP9",
        audioCodec: "opus",
        videoReceiveEnabled: true,
        audioReceiveEnabled: false,
    };
    // SkyWay declared call and connect as never undefined; a page used the result directly.
    const call: MediaConnection = peer.call("bob", stream, callOptions);
    call.on("stream", (remote: MediaStream) => console.log(remote.id, call.remoteId, call.localStream.id));
    call.on("close", () => console.log(call.open));
    call.replaceStream(stream);
    call.close(true);

    peer.on("call", (incoming: MediaConnection) => {
        const answerOptions: AnswerOption = { videoBandwidth: 100, videoCodec: "H264", videoReceiveEnabled: false };
        incoming.answer(stream, answerOptions);
        const pc: RTCPeerConnection | null = incoming.getPeerConnection();
        console.log(pc, incoming.metadata, incoming.id, incoming.type === "media");
    });

    const connectOptions: ConnectOption = { serialization: "json", dcInit: { ordered: false }, metadata: 1 };
    const conn: DataConnection = peer.connect("bob", connectOptions);
    conn.on("open", () => conn.send({ hello: "bob" }));
    conn.on("data", (data: any) => console.log(data, conn.label, conn.serialization, conn.dcInit));
    peer.on("connection", (c: DataConnection) => c.on("error", (err: PeerError) => console.log(err.type)));

    // getConnection<T>: the page names the kind it expects.
    const found = peer.getConnection<MediaConnection>("bob", call.id);
    if (found !== null) found.answer();
    const foundData: DataConnection | null = peer.getConnection<DataConnection>("bob", conn.id);
    console.log(foundData?.label, await peer.fetchPeerExists("bob"));
    for (const list of Object.values(peer.connections)) console.log(list.length);
}

function rooms(stream: MediaStream): void {
    const roomOptions: RoomOption = { mode: "sfu", stream, videoReceiveEnabled: true };
    // joinRoom<T>(): SkyWay's generic, as its sample apps call it.
    const sfu = peer.joinRoom<SfuRoom>("sfu-room", roomOptions);
    sfu.on("stream", (s: RoomStream) => console.log(s.peerId, sfu.remoteStreams[s.peerId]?.id, sfu.members.length));
    sfu.on("data", ({ src, data }: RoomData) => console.log(src, data));
    sfu.on("log", (logs: string[]) => {
        for (const logStr of logs) {
            const { messageType, message, timestamp } = JSON.parse(logStr);
            console.log(messageType, message, timestamp);
        }
    });
    sfu.on("peerJoin", (id: string) => console.log(id));
    sfu.on("peerLeave", (id: string) => console.log(id));
    sfu.once("close", () => console.log(sfu.getPeerConnection()));
    sfu.getLog();
    sfu.send("hi");
    sfu.replaceStream(stream);
    sfu.close();

    const mesh = peer.joinRoom<MeshRoom>("mesh-room", { mode: "mesh", stream });
    mesh.on("open", () => console.log(mesh.name, Object.keys(mesh.getPeerConnections())));
    for (const calls of Object.values(mesh.connections)) console.log(calls.length);

    // The inferred form: the mode picks the class.
    const inferred: SfuRoom = peer.joinRoom("another", { mode: "sfu" });
    const meshAgain: MeshRoom = peer.joinRoom("mesh-again", { mode: "mesh" });
    console.log(inferred.name, meshAgain.name, peer.rooms["mesh-room"]?.name);
}

peer.disconnect();
peer.reconnect();
console.log(telephone, rooms);
