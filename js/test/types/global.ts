// A classic-script page: skywasm.js loaded by `<script src="/sdk/skywasm.js"></script>` defines the global Peer, and
// this file (no import, no export: a script, not a module) uses it without importing anything. A page outside this
// repository gets the same types with `/// <reference types="skywasm" />`.

function scriptPage(): void {
    const peer: Peer = new Peer({ key: "00000000-0000-4000-8000-000000000000", debug: 2 });
    const sameClass: typeof Peer = window.Peer;
    console.log(sameClass === globalThis.Peer);

    // Type names through the global: Peer.X.
    let current: Peer.MediaConnection | null = null;
    const errors: Peer.PeerErrorType[] = [];

    peer.on("open", id => console.log(id.toUpperCase()));
    peer.on("call", async (incoming: Peer.MediaConnection) => {
        current = incoming;
        incoming.answer(await navigator.mediaDevices.getUserMedia({ audio: true }));
        incoming.on("stream", (remote: MediaStream) => console.log(remote.id));
    });
    peer.on("connection", (conn: Peer.DataConnection) => {
        conn.on("data", data => console.log(data));
        void conn.send({ hello: "world" }).then((ok: boolean) => console.log(ok));
    });
    peer.on("error", (err: Peer.PeerError) => errors.push(err.type));

    // The statics of the classic build.
    const calls: Peer.MediaConnection[] = Object.values(peer.connections)
        .flat()
        .filter((c): c is Peer.MediaConnection => c instanceof Peer.MediaConnection);
    const data = Object.values(peer.connections)
        .flat()
        .filter(c => c instanceof Peer.DataConnection);
    console.log(current, calls.length, data.length, Peer.debugStats()?.handles);
    void Peer.init().then(() => peer.destroy());

    // Rooms through the global's type names.
    const room: Peer.MeshRoom | null = peer.joinRoom("lobby");
    const roomCalls: Peer.MediaConnection[] = Object.values(room?.connections ?? {}).flat();
    room?.on("stream", (stream: Peer.RoomStream) => console.log(stream.peerId, roomCalls.length));
    console.log(room instanceof Peer.MeshRoom, Peer.SFURoom.name);

    // The page's own emitter, from the global.
    class Chat extends Peer.EventEmitter<{ message: (text: string) => void }> {}
    new Chat().on("message", text => console.log(text.trim())).emit("message", "hi");
}

scriptPage();
