// A room with the SkyWay API: join a room by name in mesh or SFU mode with
// the camera, show every other member's video in a grid labelled by peer
// ID, chat through room.send, and leave.

import { note, openCamera, showError } from "../_shared/page.js";

const $ = (selector) => document.querySelector(selector);
const myId = $("#my-id");
const state = $("#state");
const memberCount = $("#member-count");
const joinForm = $("#join-form");
const roomNameInput = $("#room-name");
const joinButton = $("#join");
const leaveButton = $("#leave");
const localVideo = $("#local-video");
const remoteVideos = $("#remote-videos");
const messageForm = $("#message-form");
const messageInput = $("#message");
const sendButton = $("#send");
const messages = $("#messages");

/** The room this page is in or joining, if any. */
let room = null;
let joined = false;
let destroyed = false;

const peer = new Peer({ key: window.__SKYWAY_KEY__, debug: 3 });
// For the browser's console (and the tests): window.peer.rooms holds the room.
window.peer = peer;

peer.on("open", (id) => {
  myId.textContent = id;
  note("open", `signed in as ${id}`);
  render();
});
// Room errors (a refused join, a failed call inside a mesh room, …) are the peer's error events, as in SkyWay.
peer.on("error", (err) => showError(err));
peer.on("disconnected", () => note("disconnected", "signaling connection lost; reconnecting"));
peer.on("close", () => {
  destroyed = true;
  note("peer-close", "peer destroyed");
  render();
});

const cameraReady = openCamera(localVideo); // undefined: receive only

joinForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (room || !peer.open) return;
  const name = roomNameInput.value.trim();
  const mode = joinForm.elements.mode.value;
  joinButton.disabled = true;
  const stream = await cameraReady;
  // joinRoom returns null after an error event (room-error for an empty name).
  const joining = peer.joinRoom(name, { mode, stream });
  if (!joining) {
    render();
    return;
  }
  note("joining", `joining ${mode} room "${name}"`);
  follow(joining);
});

leaveButton.addEventListener("click", () => {
  // The UI clears on the room's close event.
  room?.close();
});

messageForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = messageInput.value;
  if (!text || !joined) return;
  try {
    room.send(text); // the others get it in their data event; the sender does not
  } catch (err) {
    showError(err); // over 20 MB: not the case for a chat line
    return;
  }
  addMessage("mine", peer.id, text);
  messageInput.value = "";
});

/** Follows room's events and makes it the page's room. */
function follow(r) {
  room = r;
  // Members that left: a stream of theirs still on its way must not bring their tile back.
  const left = new Set();
  r.on("open", () => {
    if (r !== room) return;
    joined = true;
    note("room-open", `in room "${r.name}" with ${r.members.length} others`);
    // The members already there have no peerJoin: give each a tile now.
    for (const id of r.members) tileOf(id);
    render();
  });
  r.on("peerJoin", (peerId) => {
    if (r !== room) return;
    left.delete(peerId);
    note("peer-join", `${peerId} joined`);
    tileOf(peerId);
    render();
  });
  r.on("peerLeave", (peerId) => {
    if (r !== room) return;
    left.add(peerId);
    note("peer-leave", `${peerId} left`);
    removeTile(peerId);
    render();
  });
  r.on("stream", (stream) => {
    if (r !== room || left.has(stream.peerId)) return;
    // In an SFU room a stream may come before its peer's peerJoin; the tile is made by whichever comes first.
    const video = tileOf(stream.peerId).querySelector("video");
    if (video.srcObject && video.srcObject.id === stream.id) return; // the same stream twice: nothing to do
    note("stream", `receiving ${stream.peerId}'s stream`);
    video.srcObject = stream;
    render();
  });
  r.on("data", ({ src, data }) => {
    if (r !== room) return;
    addMessage("theirs", src, typeof data === "string" ? data : JSON.stringify(data));
  });
  r.on("close", () => {
    note("room-close", `left room "${r.name}"`);
    if (r !== room) return;
    room = null;
    joined = false;
    for (const tile of [...remoteVideos.children]) removeTile(tile.dataset.peerId);
    render();
  });
  render();
}

/** The tile of peerId's video, made if it has none. */
function tileOf(peerId) {
  for (const tile of remoteVideos.children) {
    if (tile.dataset.peerId === peerId) return tile;
  }
  const tile = document.createElement("figure");
  tile.dataset.peerId = peerId;
  const caption = document.createElement("figcaption");
  caption.className = "id";
  caption.textContent = peerId;
  const video = document.createElement("video");
  video.dataset.peerId = peerId;
  video.autoplay = true;
  video.playsInline = true;
  tile.append(caption, video);
  remoteVideos.append(tile);
  return tile;
}

function removeTile(peerId) {
  for (const tile of [...remoteVideos.children]) {
    if (tile.dataset.peerId !== peerId) continue;
    tile.querySelector("video").srcObject = null;
    tile.remove();
  }
}

function render() {
  let value;
  if (!peer.open) value = destroyed ? "closed" : "starting";
  else if (!room) value = "idle";
  else if (!joined) value = "joining";
  else value = "in-room";
  state.dataset.state = value;
  state.textContent = value;
  memberCount.textContent = String(remoteVideos.children.length);
  joinButton.disabled = value !== "idle";
  roomNameInput.disabled = value !== "idle";
  for (const radio of joinForm.elements.mode) radio.disabled = value !== "idle";
  leaveButton.disabled = !room;
  sendButton.disabled = value !== "in-room";
}

function addMessage(kind, from, text) {
  const item = document.createElement("li");
  item.className = kind;
  item.dataset.src = from ?? "";
  const span = document.createElement("span");
  span.className = "text";
  span.textContent = kind === "mine" ? text : `${from}: ${text}`;
  item.append(span);
  messages.append(item);
  messages.scrollTop = messages.scrollHeight;
}

render();
