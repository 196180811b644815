// The shim's own rules, in Node without a browser or sdk.wasm: where a Peer
// connects (SkyWay's host/port/secure, else the origin the SDK was loaded
// from), peer.options as SkyWay's constructor left it, the EVENTS enums, and
// the EventEmitter surface of Node's `events`, which SkyWay's classes had.
//
// Run: node --test js/test/shim.test.mjs (no build needed).

import assert from "node:assert/strict";
import { describe, it } from "node:test";

// Importing the classic script defines no global, only the registry.
await import("../skywasm.js");
const sdk = globalThis[Symbol.for("skywasm")];
const { serverURL, peerOptions, serverOrigin } = sdk.internals;
const { Peer, MediaConnection, DataConnection, MeshRoom, SFURoom, EventEmitter } = sdk;

/** Runs fn with globalThis.location set to a page at href, as a browser has it. */
function onPage(href, fn) {
  const had = Object.getOwnPropertyDescriptor(globalThis, "location");
  Object.defineProperty(globalThis, "location", { value: new URL(href), configurable: true, writable: true });
  try {
    return fn();
  } finally {
    if (had) Object.defineProperty(globalThis, "location", had);
    else delete globalThis.location;
  }
}

describe("where a Peer connects", () => {
  const skywasm = "http://sky.test:8080"; // the default server: where the SDK was loaded from

  // Each case is the page's options, and the server SkyWay's rules give.
  const cases = [
    ["neither host nor port: the default server", {}, skywasm],
    ["host and port, secure left out: plain http (port ≠ 443)", { host: "example.com", port: 8443 }, "http://example.com:8443"],
    ["host and port 443, secure left out: https", { host: "example.com", port: 443 }, "https://example.com"],
    ["secure true with another port", { host: "example.com", port: 8443, secure: true }, "https://example.com:8443"],
    ["secure false with port 443", { host: "example.com", port: 443, secure: false }, "http://example.com:443"],
    ["port as a string", { host: "h.test", port: "81" }, "http://h.test:81"],
    ["host only: the scheme's port", { host: "h.test" }, "http://h.test"],
    ["host only, secure: https on 443", { host: "h.test", secure: true }, "https://h.test"],
    ["port only: the default server's host", { port: 9000 }, "http://sky.test:9000"],
    ['host "/": the page\'s hostname', { host: "/", port: 9001 }, "http://page.test:9001"],
    ["IPv6 without brackets", { host: "::1", port: 1 }, "http://[::1]:1"],
    ["IPv6 with brackets", { host: "[::1]", port: 2 }, "http://[::1]:2"],
    ["an empty host and no port: the default server", { host: "" }, skywasm],
  ];
  for (const [name, given, want] of cases) {
    it(name, () => {
      const got = onPage("http://page.test:3000/app/", () => serverURL(peerOptions({ key: "k", ...given }), skywasm));
      assert.equal(got, want);
    });
  }

  it("the default server is the origin the SDK was loaded from, else the page's", () => {
    // Imported in Node, the script knows no URL of its own: the page's origin serves.
    assert.equal(onPage("http://page.test:3000/app/", serverOrigin), "http://page.test:3000");
    // skywasm.mjs tells it its own URL, as a module loaded from the skywasm server does.
    sdk.setBase("http://sky.test:8080/sdk/skywasm.mjs");
    assert.equal(onPage("http://page.test:3000/app/", serverOrigin), "http://sky.test:8080");
  });
});

describe("peer.options", () => {
  it("holds SkyWay's defaults, the page's options over them, and a token", () => {
    const config = { iceServers: [{ urls: "stun:stun.test" }] };
    const o = onPage("https://page.test/", () => peerOptions({ key: "k", debug: 3, config, credential: { ttl: 1 } }));
    assert.equal(o.key, "k");
    assert.equal(o.debug, 3);
    assert.equal(o.turn, true);
    assert.equal(o.config, config, "the page's config object itself");
    assert.deepEqual(o.credential, { ttl: 1 });
    assert.match(o.token, /^[A-Za-z0-9]{22}$/);
    assert.notEqual(o.token, peerOptions({ key: "k" }).token, "a fresh token per Peer");
    // SkyWay's constructor: secure defaults to true, then is left undefined when the page did not set it and the
    // port is not 443.
    assert.ok("secure" in o && o.secure === undefined, "secure is undefined");
    assert.equal(peerOptions({ key: "k", port: 443 }).secure, true);
    assert.equal(peerOptions({ key: "k", secure: false, port: 443 }).secure, false);
    assert.deepEqual(peerOptions({ key: "k" }).config, { iceServers: [], iceTransportPolicy: "all" });
    // The dispatcher's options describe the default server, which stands in for SkyWay's dispatcher.
    for (const name of ["dispatcherSecure", "dispatcherHost", "dispatcherPort"]) assert.ok(name in o, name);
  });

  it('host "/" becomes the page\'s hostname, as SkyWay wrote it back', () => {
    const o = onPage("http://page.test:3000/", () => peerOptions({ key: "k", host: "/", port: 3000 }));
    assert.equal(o.host, "page.test");
  });
});

describe("EVENTS", () => {
  // SkyWay's enums, member for member, in its order (src/peer.js, src/peer/*.js).
  const connection = ["candidate", "offer", "answer", "close", "forceClose"];
  const room = ["stream", "open", "close", "peerJoin", "peerLeave", "error", "data", "log"];
  const want = [
    ["Peer", Peer, ["open", "error", "call", "connection", "expiresin", "close", "disconnected"]],
    ["MediaConnection", MediaConnection, ["stream", ...connection]],
    ["DataConnection", DataConnection, ["open", "data", "error", ...connection]],
    ["MeshRoom", MeshRoom, room],
    ["SFURoom", SFURoom, room],
  ];
  for (const [name, cls, keys] of want) {
    it(`${name}.EVENTS is SkyWay's Enum`, () => {
      const e = cls.EVENTS;
      assert.deepEqual(
        e.enums.map((item) => item.key),
        keys,
      );
      keys.forEach((key, i) => {
        assert.equal(e[key].key, key);
        assert.equal(e[key].value, 2 ** i, "values are powers of two, as the enum package made them");
        assert.equal(String(e[key]), key);
        assert.equal(`${e[key]}`, key, "a member in a template string is its key");
        assert.equal(e.get(key), e[key]);
        assert.equal(e.getKey(2 ** i), key);
        assert.ok(e[key].is(key));
      });
      assert.ok(Object.isFrozen(e), "frozen");
      assert.equal(cls.EVENTS, e, "the same object each time");
    });
  }
});

describe("EventEmitter", () => {
  it("has the surface of Node's events", () => {
    const e = new EventEmitter();
    const order = [];
    const a = () => order.push("a");
    const b = () => order.push("b");
    const c = () => order.push("c");
    const d = () => order.push("d");
    e.on("x", a);
    e.prependListener("x", b);
    e.once("x", c);
    e.prependOnceListener("x", d);
    assert.deepEqual(e.eventNames(), ["x"]);
    assert.equal(e.listenerCount("x"), 4);
    assert.deepEqual(e.listeners("x"), [d, b, a, c], "listeners() unwraps once listeners");
    const raw = e.rawListeners("x");
    assert.equal(raw.length, 4);
    assert.equal(raw[0].listener, d, "rawListeners() gives the once wrapper, with .listener");
    assert.equal(raw[1], b);
    assert.equal(e.emit("x"), true);
    assert.deepEqual(order, ["d", "b", "a", "c"]);
    e.emit("x");
    assert.deepEqual(order, ["d", "b", "a", "c", "b", "a"], "once listeners ran once");
    assert.equal(e.emit("nothing"), false);
    e.removeListener("x", a);
    e.off("x", b);
    assert.deepEqual(e.eventNames(), []);
  });

  it("setMaxListeners and getMaxListeners, with Node's warning past the limit", (t) => {
    const e = new EventEmitter();
    assert.equal(e.getMaxListeners(), 10);
    assert.equal(e.setMaxListeners(2), e);
    assert.equal(e.getMaxListeners(), 2);
    const warn = t.mock.method(console, "warn", () => {});
    for (let i = 0; i < 4; i++) e.on("x", () => {});
    assert.equal(warn.mock.callCount(), 1, "one warning per event name");
    e.setMaxListeners(0);
    for (let i = 0; i < 4; i++) e.on("y", () => {});
    assert.equal(warn.mock.callCount(), 1, "0 means no limit");
    assert.throws(() => e.setMaxListeners(-1), RangeError);
  });
});
