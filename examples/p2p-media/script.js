// A one-to-one video call with the SkyWay API: call an ID, answer every
// incoming call with the camera, play the other side's stream, hang up.

import { note, openCamera, showError } from "../_shared/page.js";

const $ = (selector) => document.querySelector(selector);
const myId = $("#my-id");
const state = $("#state");
const callForm = $("#call-form");
const remoteIdInput = $("#remote-id");
const callButton = $("#call");
const hangUpButton = $("#hang-up");
const localVideo = $("#local-video");
const remoteVideo = $("#remote-video");
const remotePeer = $("#remote-peer");

/** The call in progress, if any. */
let currentCall = null;
let destroyed = false;

const peer = new Peer({ key: window.__SKYWAY_KEY__, debug: 3 });

peer.on("open", (id) => {
  myId.textContent = id;
  note("open", `signed in as ${id}`);
  render();
});
peer.on("call", async (call) => {
  note("call", `incoming call from ${call.remoteId}`);
  if (currentCall) {
    // One call at a time: end the previous one before taking the new one.
    currentCall.close(true);
  }
  track(call);
  call.answer(await cameraReady);
});
peer.on("error", (err) => showError(err));
peer.on("disconnected", () => note("disconnected", "signaling connection lost; reconnecting"));
peer.on("close", () => {
  destroyed = true;
  note("peer-close", "peer destroyed");
  render();
});

const cameraReady = openCamera(localVideo); // undefined: receive only

callForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const remoteId = remoteIdInput.value.trim();
  if (!remoteId || !peer.open) return;
  const call = peer.call(remoteId, await cameraReady);
  if (call) {
    note("calling", `calling ${remoteId}`);
    track(call);
  }
});

hangUpButton.addEventListener("click", () => {
  // true: the far side learns of it through signaling at once. The UI goes
  // back to idle on the call's close event, as the far side's does.
  currentCall?.close(true);
});

/** Follows call's events and makes it the current call. */
function track(call) {
  currentCall = call;
  remotePeer.textContent = call.remoteId;
  call.on("stream", (stream) => {
    if (call !== currentCall) return;
    note("stream", `receiving ${call.remoteId}'s stream`);
    remoteVideo.srcObject = stream;
    render();
  });
  call.on("close", () => {
    note("call-close", `call with ${call.remoteId} closed`);
    if (call !== currentCall) return;
    currentCall = null;
    remoteVideo.srcObject = null;
    remotePeer.textContent = "";
    render();
  });
  call.on("error", (err) => showError(err));
  render();
}

function render() {
  let value;
  if (!peer.open) value = destroyed ? "closed" : "starting";
  else if (!currentCall) value = "idle";
  else if (!remoteVideo.srcObject) value = "calling";
  else value = "in-call";
  state.dataset.state = value;
  state.textContent = value;
  callButton.disabled = value !== "idle";
  hangUpButton.disabled = !currentCall;
}

render();
