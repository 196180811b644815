// The Peer methods no example uses, each through the bridge against a real
// server in dev mode (whose app has the listPeers permission): listAllPeers,
// fetchPeerExists, getConnection, disconnect and reconnect, updateCredential.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openSdkPage, useEnv, withContext } from "./harness.mjs";

describe("Peer methods", { timeout: 300_000 }, () => {
  const env = useEnv();

  it("listAllPeers lists the open peers; fetchPeerExists tells an open peer from an unknown one", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const [a, b] = [await openSdkPage(open), await openSdkPage(open)];
      const [aId, bId] = await Promise.all([a, b].map((page) => page.evaluate(async () => (window.peer = await T.openPeer()).id)));
      const got = await a.evaluate(async (bId) => {
        const peer = window.peer;
        const errors = [];
        peer.on("error", (err) => errors.push(`${err.type}: ${err.message}`));
        const listed = await T.deadline(new Promise((resolve) => peer.listAllPeers(resolve)), 10_000, "listAllPeers");
        const exists = await T.deadline(peer.fetchPeerExists(bId), 10_000, "fetchPeerExists(bId)");
        await T.sleep(1_100); // fetchPeerExists may be called once a second
        const unknown = await T.deadline(peer.fetchPeerExists("no-such-peer-4242"), 10_000, "fetchPeerExists(unknown)");
        return { listed, exists, unknown, errors };
      }, bId);
      assert.ok(Array.isArray(got.listed), `listAllPeers gave ${JSON.stringify(got.listed)}`);
      assert.ok(got.listed.includes(bId), `listAllPeers ${JSON.stringify(got.listed)} holds the other peer ${bId}`);
      assert.ok(got.listed.includes(aId), `listAllPeers ${JSON.stringify(got.listed)} holds the peer itself ${aId}`);
      assert.equal(got.exists, true, "fetchPeerExists of an open peer");
      assert.equal(got.unknown, false, "fetchPeerExists of an unknown peer");
      assert.deepEqual(got.errors, [], "no error events");
    });
  });

  it("getConnection finds a connection by peer and connection ID, and null for others", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const [a, b] = [await openSdkPage(open), await openSdkPage(open)];
      const bId = await b.evaluate(async () => (window.peer = await T.openPeer()).id);
      const got = await a.evaluate(async (bId) => {
        const peer = await T.openPeer();
        const conn = peer.connect(bId);
        await T.event(conn, "open", 20_000, "the connection's open event");
        const out = {
          same: peer.getConnection(bId, conn.id) === conn,
          otherId: peer.getConnection(bId, "dc_no-such-id"),
          otherPeer: peer.getConnection("no-such-peer", conn.id),
        };
        peer.destroy();
        return out;
      }, bId);
      assert.deepEqual(got, { same: true, otherId: null, otherPeer: null });
    });
  });

  it("disconnect, then reconnect with the same ID; updateCredential is accepted", { timeout: 60_000 }, async () => {
    await withContext(env, async ({ open }) => {
      const page = await openSdkPage(open);
      const got = await page.evaluate(async () => {
        const peer = await T.openPeer();
        const errors = [];
        peer.on("error", (err) => errors.push(`${err.type}: ${err.message}`));
        const id = peer.id;
        const disconnected = T.event(peer, "disconnected", 10_000, "the disconnected event");
        peer.disconnect();
        const disconnectedId = await disconnected;
        const openAfterDisconnect = peer.open;
        const reopened = T.event(peer, "open", 20_000, "the open event after reconnect");
        peer.reconnect();
        const reopenedId = await reopened;
        // The dev app does not authenticate peers: a credential is kept and changes nothing.
        peer.updateCredential({ timestamp: Math.floor(Date.now() / 1000), ttl: 3600, authToken: "not-checked" });
        await T.sleep(500);
        const out = { id, disconnectedId, openAfterDisconnect, reopenedId, openAtEnd: peer.open, errors };
        peer.destroy();
        return out;
      });
      assert.equal(got.disconnectedId, got.id, "disconnected carries the peer's ID");
      assert.equal(got.openAfterDisconnect, false, "peer.open after disconnect");
      assert.equal(got.reopenedId, got.id, "reconnect opens with the same ID");
      assert.equal(got.openAtEnd, true, "peer.open after reconnect and updateCredential");
      assert.deepEqual(got.errors, [], "no error events");
    });
  });
});
