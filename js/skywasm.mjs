/*
 * skywasm.mjs — the ES module entry: `import Peer from "/sdk/skywasm.mjs"`, or the named exports.
 * It loads skywasm.js (which, imported as a module, defines no global) and finds sdk.wasm beside itself.
 */
import "./skywasm.js";

const sdk = globalThis[Symbol.for("skywasm")];
sdk.setBase(import.meta.url);

export const { Peer, MediaConnection, DataConnection, MeshRoom, SFURoom, EventEmitter } = sdk;
export default Peer;
