// What every example page does with its event log (#log) and its error
// list (#errors). Pages without a #log just list errors.

/** Adds a line to the page's event log; data-event names it for tests. */
export function note(event, text) {
  const log = document.querySelector("#log");
  if (!log) return;
  const item = document.createElement("li");
  item.dataset.event = event;
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  log.append(item);
  log.scrollTop = log.scrollHeight;
}

/** Lists a Peer error (with SkyWay's err.type) and logs it. */
export function showError(err) {
  const item = document.createElement("li");
  item.textContent = `${err.type ?? "error"}: ${err.message}`;
  document.querySelector("#errors").append(item);
  note("error", item.textContent);
}

/**
 * Opens the camera and microphone and shows them in the video element. It
 * resolves to the MediaStream, or to undefined (after listing the error)
 * when there is none: the page then calls, answers or joins receive-only.
 */
export function openCamera(video) {
  return navigator.mediaDevices
    .getUserMedia({ video: true, audio: true })
    .then((stream) => {
      video.srcObject = stream;
      return stream;
    })
    .catch((err) => {
      showError({ type: err.name, message: `camera and microphone: ${err.message}` });
      return undefined;
    });
}
