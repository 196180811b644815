// peerserver.mjs runs peerjs-server (npm `peer`) on a free 127.0.0.1 port,
// with key "peerjs" and path "/", for the browser benchmark's PeerJS pages,
// and prints `peerserver: listening on 127.0.0.1:PORT` once it accepts
// connections. It runs until it is signalled; browser.mjs starts and stops it.
//
// A process of its own, as `skywasm serve` is, so that the server's work is
// not done on the event loop that drives the browser.

import { PeerServer } from "peer";

PeerServer({ host: "127.0.0.1", port: 0, key: "peerjs", path: "/" }, (server) => {
  console.log(`peerserver: listening on 127.0.0.1:${server.address().port}`);
});
