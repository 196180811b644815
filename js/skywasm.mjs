/*
 * skywasm.mjs — the ES module entry: `import Peer from "/sdk/skywasm.mjs"`, or the named exports.
 * It loads skywasm.js (which, imported as a module, defines no global) and finds sdk.wasm beside itself.
 */
import "./skywasm.js";

const sdk = globalThis[Symbol.for("skywasm")];
sdk.setBase(import.meta.url);

export const { Peer, MediaConnection, DataConnection, MeshRoom, SFURoom, EventEmitter } = sdk;
/** SFURoom under the name SkyWay's skyway-js.d.ts gave it. */
export const SfuRoom = SFURoom;
export default Peer;
