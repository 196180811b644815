// Wrong usages the declarations must refuse. Each `// @ts-expect-error` makes `npx tsc -p js/tsconfig.json` fail if
// the line after it compiles, so loosening a type shows up here. One wrong thing per line; the comment after the
// directive says what it is.

import Peer, { MediaConnection, MeshRoom, type DataConnection, type PeerOptions, type SFURoom } from "skywasm";

declare const peer: Peer;
declare const mc: MediaConnection;
declare const dc: DataConnection;
declare const stream: MediaStream;
declare const mesh: MeshRoom;
declare const sfu: SFURoom;

// --- new Peer: the key is required, debug is 0-3, the id is a string.
// @ts-expect-error missing key
new Peer({ debug: 1 });
// @ts-expect-error no options at all
new Peer();
// @ts-expect-error an ID but no options
new Peer("alice");
// @ts-expect-error debug 4 does not exist
new Peer({ key: "k", debug: 4 });
// @ts-expect-error an ID is a string
new Peer(42, { key: "k" });
// @ts-expect-error the credential lacks authToken
const noToken: PeerOptions = { key: "k", credential: { timestamp: 1, ttl: 600 } };
// @ts-expect-error port is a number
const stringPort: PeerOptions = { key: "k", host: "example.com", port: "443" };
// @ts-expect-error config is an RTCConfiguration
const badConfig: PeerOptions = { key: "k", config: { iceServers: "stun:example.com" } };
console.log(noToken, stringPort, badConfig);

// --- connect and call options.
// @ts-expect-error no such serialization
peer.connect("bob", { serialization: "msgpack" });
// @ts-expect-error serialization names are lower case
peer.connect("bob", { serialization: "JSON" });
// @ts-expect-error dcInit is an RTCDataChannelInit
peer.connect("bob", { dcInit: { ordered: "yes" } });
// @ts-expect-error bandwidth is a number of kbit/s
peer.call("bob", stream, { videoBandwidth: "1M" });
// @ts-expect-error the stream is a MediaStream
peer.call("bob", "camera");
// (answer takes the receive options, as SkyWay's AnswerOption did: see skyway.ts)

// --- Rooms.
// @ts-expect-error a room's name is a string
peer.joinRoom(42);
// @ts-expect-error no such mode
peer.joinRoom("lobby", { mode: "p2p" });
// @ts-expect-error the stream is a MediaStream
peer.joinRoom("lobby", { stream: "camera" });
// (joinRoom, call and connect are typed non-null, as SkyWay's declarations were: see skyway.ts)
// @ts-expect-error mode sfu gives an SFURoom, not a MeshRoom
const wrongKind: MeshRoom | null = peer.joinRoom("lobby", { mode: "sfu" });
// @ts-expect-error the default mode gives a MeshRoom, which has no remoteStreams
console.log(peer.joinRoom("lobby")?.remoteStreams);
// @ts-expect-error an SFURoom has no connections
console.log(sfu.connections);
// @ts-expect-error a MeshRoom has getPeerConnections, not getPeerConnection
mesh.getPeerConnection();
// @ts-expect-error room.send returns nothing (it throws over 20 MB)
const roomSent: boolean = mesh.send("x");
// @ts-expect-error rooms come from joinRoom, not new
new MeshRoom();
// @ts-expect-error Room is a type only: the module exports MeshRoom and SFURoom
console.log(Peer.Room);
// @ts-expect-error a room's name is read-only
mesh.name = "other";
// @ts-expect-error members is read-only
sfu.members = [];
// @ts-expect-error peerJoin gives a peer ID
mesh.on("peerJoin", (id: number) => console.log(id));
// @ts-expect-error data gives {src, data}
sfu.on("data", (data: string) => console.log(data));
// @ts-expect-error a room's stream carries peerId as a string
sfu.on("stream", (stream: MediaStream & { peerId: number }) => console.log(stream));
// @ts-expect-error replaceStream needs a stream
mesh.replaceStream();
console.log(wrongKind, roomSent);

// --- Typed events: a declared event's listener must fit.
// @ts-expect-error open gives a string ID
peer.on("open", (id: number) => console.log(id));
// @ts-expect-error call gives a MediaConnection, not a DataConnection
peer.on("call", (conn: DataConnection) => console.log(conn.label));
// @ts-expect-error error gives a PeerError whose type is the union, not any string literal
peer.on("error", (err: { type: "oops" }) => console.log(err));
// @ts-expect-error expiresin gives seconds as a number
peer.once("expiresin", (seconds: string) => console.log(seconds));
// @ts-expect-error stream gives a MediaStream
mc.on("stream", (s: string) => console.log(s));
// @ts-expect-error data gives one value
dc.on("data", (a: unknown, b: unknown) => console.log(a, b));
// @ts-expect-error a typed event's listener type is kept by off too
peer.off("open", (id: boolean) => console.log(id));
// @ts-expect-error off needs the listener to remove (removeAllListeners removes them all)
peer.off("open");
// @ts-expect-error emit checks a declared event's arguments
peer.emit("open", 42);
// @ts-expect-error the error type is checked against the union
peer.on("error", err => err.type === "not-a-type");

// --- Results.
// @ts-expect-error send returns a Promise<boolean>, not a boolean
const sentNow: boolean = dc.send("x");
// @ts-expect-error the ID is null until open
console.log(peer.id.length);
// @ts-expect-error listAllPeers' callback gets an array of IDs
peer.listAllPeers((ids: number) => console.log(ids));
// @ts-expect-error properties are read-only
dc.serialization = "json";
// @ts-expect-error connections come from call or the call event, not new
new MediaConnection();
// @ts-expect-error wasmURL is a string or URL
void Peer.init({ wasmURL: 1 });
console.log(sentNow);
