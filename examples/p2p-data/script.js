// Chat and file transfer over one DataConnection with the SkyWay API.
//
// Every message is an object with a `kind`. A file goes as
//   {kind: "file-start", id, name, type, size}
// followed by {kind: "file-piece", id, index, piece} where piece is a Blob of
// at most PIECE_SIZE bytes. The sender awaits each conn.send(): skywasm
// resolves it once the piece has been handed to the data channel, so a large
// file neither freezes the page nor piles up in memory, and the sender's
// progress bar shows what has really left.

import { showError } from "../_shared/page.js";

const PIECE_SIZE = 256 * 1024;

const $ = (selector) => document.querySelector(selector);
const myId = $("#my-id");
const state = $("#state");
const remotePeer = $("#remote-peer");
const connectForm = $("#connect-form");
const remoteIdInput = $("#remote-id");
const connectButton = $("#connect");
const disconnectButton = $("#disconnect");
const messages = $("#messages");
const messageForm = $("#message-form");
const messageInput = $("#message");
const sendButton = $("#send");
const fileInput = $("#file");
const sendFileButton = $("#send-file");
const sendProgress = $("#send-progress");
const sendStatus = $("#send-status");
const recvProgress = $("#recv-progress");
const recvStatus = $("#recv-status");
const download = $("#download");

/** The data connection in use, if any; `open` once both sides can send. */
let conn = null;
let sending = false;
/** The file being received: {id, name, type, size, pieces, received}. */
let incoming = null;

const peer = new Peer({ key: window.__SKYWAY_KEY__, debug: 3 });

peer.on("open", (id) => {
  myId.textContent = id;
  render();
});
peer.on("connection", (connection) => use(connection));
peer.on("error", (err) => showError(err));
peer.on("disconnected", () => render());
peer.on("close", () => render());

connectForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const remoteId = remoteIdInput.value.trim();
  if (!remoteId || !peer.open) return;
  const connection = peer.connect(remoteId); // serialization: "binary"
  if (connection) use(connection);
});

disconnectButton.addEventListener("click", () => conn?.close(true));

messageForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = messageInput.value;
  if (!text || !conn?.open) return;
  messageInput.value = "";
  if (await conn.send({ kind: "chat", text })) {
    addMessage("mine", text);
  }
});

fileInput.addEventListener("change", render);
sendFileButton.addEventListener("click", () => {
  const file = fileInput.files[0];
  if (file && conn?.open && !sending) sendFile(conn, file);
});

/** Makes connection the one in use, closing any previous one. */
function use(connection) {
  if (conn && conn !== connection) conn.close(true);
  conn = connection;
  connection.on("open", () => {
    if (connection !== conn) return;
    note(`connected to ${connection.remoteId}`);
    render();
  });
  connection.on("data", (data) => {
    if (connection === conn) receive(data);
  });
  connection.on("close", () => {
    note(`connection with ${connection.remoteId} closed`);
    if (connection !== conn) return;
    conn = null;
    incoming = null;
    render();
  });
  connection.on("error", (err) => showError(err));
  render();
}

async function sendFile(connection, file) {
  sending = true;
  render();
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  sendProgress.max = Math.max(file.size, 1);
  sendProgress.value = 0;
  sendStatus.textContent = `${file.name}: 0 of ${formatBytes(file.size)}`;
  let ok = await connection.send({ kind: "file-start", id, name: file.name, type: file.type, size: file.size });
  for (let index = 0, offset = 0; ok && offset < file.size; index++, offset += PIECE_SIZE) {
    const piece = file.slice(offset, offset + PIECE_SIZE);
    ok = await connection.send({ kind: "file-piece", id, index, piece });
    if (ok) {
      sendProgress.value = offset + piece.size;
      sendStatus.textContent = `${file.name}: ${formatBytes(offset + piece.size)} of ${formatBytes(file.size)}`;
    }
  }
  if (ok) {
    sendProgress.value = sendProgress.max;
    sendStatus.textContent = `${file.name}: sent (${formatBytes(file.size)})`;
    addMessage("note", `You sent ${file.name} (${formatBytes(file.size)})`);
  } else {
    sendStatus.textContent = `${file.name}: failed`;
  }
  sending = false;
  render();
}

function receive(data) {
  switch (data?.kind) {
    case "chat":
      addMessage("theirs", String(data.text));
      break;
    case "file-start":
      incoming = { id: data.id, name: data.name, type: data.type, size: data.size, pieces: [], received: 0 };
      recvProgress.max = Math.max(data.size, 1);
      recvProgress.value = 0;
      recvStatus.textContent = `${data.name}: 0 of ${formatBytes(data.size)}`;
      download.hidden = true;
      if (data.size === 0) finishFile();
      break;
    case "file-piece":
      if (!incoming || data.id !== incoming.id) return;
      incoming.pieces[data.index] = data.piece;
      incoming.received += data.piece.size;
      recvProgress.value = incoming.received;
      recvStatus.textContent = `${incoming.name}: ${formatBytes(incoming.received)} of ${formatBytes(incoming.size)}`;
      if (incoming.received >= incoming.size) finishFile();
      break;
  }
}

function finishFile() {
  const { name, type, size, pieces } = incoming;
  incoming = null;
  recvProgress.value = recvProgress.max;
  recvStatus.textContent = `${name}: received (${formatBytes(size)})`;
  if (download.href) URL.revokeObjectURL(download.href);
  download.href = URL.createObjectURL(new File(pieces, name, { type }));
  download.download = name;
  download.textContent = `Download ${name} (${formatBytes(size)})`;
  download.hidden = false;
  addMessage("note", `${conn?.remoteId ?? "The other side"} sent ${name} (${formatBytes(size)})`);
}

function render() {
  let value;
  if (!peer.open) value = "starting";
  else if (!conn) value = "idle";
  else if (!conn.open) value = "connecting";
  else value = "connected";
  state.dataset.state = value;
  state.textContent = value;
  remotePeer.textContent = conn?.remoteId ?? "";
  connectButton.disabled = !peer.open;
  disconnectButton.disabled = !conn;
  sendButton.disabled = value !== "connected";
  sendFileButton.disabled = value !== "connected" || sending || !fileInput.files.length;
}

function addMessage(kind, text) {
  const item = document.createElement("li");
  item.className = kind;
  if (kind === "note") {
    item.textContent = text;
  } else {
    const bubble = document.createElement("span");
    bubble.className = "text";
    bubble.textContent = text;
    item.append(bubble);
  }
  messages.append(item);
  messages.scrollTop = messages.scrollHeight;
}

function note(text) {
  addMessage("note", text);
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

render();
