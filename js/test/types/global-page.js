// @ts-check
// A plain JavaScript page, as most SkyWay pages are, checked with JSDoc types: the global Peer of
// `<script src="/sdk/skywasm.js"></script>` and its type names (Peer.MediaConnection, …) need no import.

function javascriptPage() {
  const peer = new Peer({ key: "00000000-0000-4000-8000-000000000000" });

  /** @type {Peer.MediaConnection | null} */
  let existingCall = null;

  peer.on("open", (id) => console.log(id.length));
  peer.on("call", (call) => {
    existingCall?.close(true);
    existingCall = call;
    call.answer(null, { videoCodec: "VP8" });
    call.on("stream", (stream) => {
      const video = document.querySelector("video");
      if (video) video.srcObject = stream;
    });
  });
  peer.on("error", (err) => {
    if (err.type === "peer-unavailable") console.warn("no such peer");
  });

  /** @param {Peer.DataConnection} conn */
  async function chat(conn) {
    /** @type {boolean} */
    const sent = await conn.send("hello");
    return sent;
  }
  const conn = peer.connect("bob", { serialization: "json" });
  if (conn) void chat(conn);

  // A room, as SkyWay's room samples wrote it.
  const room = peer.joinRoom("lobby", { mode: "sfu" });
  if (!room) return;
  room.on("stream", (stream) => {
    const video = document.createElement("video");
    video.setAttribute("data-peer-id", stream.peerId);
    video.srcObject = stream;
  });
  room.on("peerLeave", (peerId) => document.querySelector(`[data-peer-id="${peerId}"]`)?.remove());
  room.on("data", ({ src, data }) => console.log(src, data));
  /** @type {Peer.SFURoom} */
  const sfu = room;
  console.log(Object.values(sfu.remoteStreams).map((s) => s.peerId));
}

javascriptPage();
