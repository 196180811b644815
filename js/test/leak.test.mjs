// 200 DataConnection connect/send/close cycles between two pages leave
// neither JavaScript nor Go memory behind.
//
// Bounds, from a warm-up of 20 cycles to the end of 200 (180 more):
//   - JS heap (after a forced GC): grows less than 2 MiB on each page;
//   - Go goroutines: at most 3 more than after the warm-up;
//   - Go handles (the bridge's references to JS values and callbacks): back
//     to the warm-up count, exactly;
//   - Go heap: grows less than 8 MiB (the Go runtime's own figure, which
//     moves with its garbage collector's rhythm, so the bound is loose).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openSdkPage, sleep, useEnv, withContext } from "./harness.mjs";

const WARMUP = 20;
const TOTAL = 200;
const MiB = 1024 * 1024;

/** Runs n cycles from page a to the peer bId: connect, send, get the echo, close, see close. */
function cycles(a, bId, n) {
  return a.evaluate(
    async ({ bId, n }) => {
      for (let i = 0; i < n; i++) {
        const conn = window.peer.connect(bId);
        await T.event(conn, "open", 10_000, `open in cycle ${window.cycles}`);
        const echo = T.event(conn, "data", 10_000, `the echo in cycle ${window.cycles}`);
        if (!(await conn.send({ cycle: window.cycles }))) throw new Error(`send failed in cycle ${window.cycles}`);
        const got = await echo;
        if (got?.cycle !== window.cycles) throw new Error(`cycle ${window.cycles}: echo ${JSON.stringify(got)}`);
        const closed = T.event(conn, "close", 5_000, `close in cycle ${window.cycles}`);
        conn.close(true);
        await closed;
        window.cycles++;
        window.made++;
      }
      return window.cycles;
    },
    { bId, n },
  );
}

/** JS heap after a forced GC (CDP), and the Go SDK's own figures, for each page. */
async function measure(sessions, pages) {
  await sleep(500); // let the last closes settle
  const out = [];
  for (const [i, page] of pages.entries()) {
    await sessions[i].send("HeapProfiler.collectGarbage");
    await sessions[i].send("HeapProfiler.collectGarbage");
    const { usedSize } = await sessions[i].send("Runtime.getHeapUsage");
    const go = await page.evaluate(() => Peer.debugStats());
    const connections = await page.evaluate(() =>
      Object.values(window.peer.connections).reduce((n, list) => n + list.length, 0),
    );
    out.push({ jsHeap: usedSize, ...go, connections });
  }
  return out;
}

const fmt = (m) =>
  `JS heap ${(m.jsHeap / MiB).toFixed(2)} MiB, Go heap ${(m.heapBytes / MiB).toFixed(2)} MiB, ` +
  `${m.goroutines} goroutines, ${m.handles} handles, ${m.connections} entries in peer.connections`;

describe("leaks", { timeout: 600_000 }, () => {
  const env = useEnv();

  it(`${TOTAL} DataConnection cycles leave no memory behind`, { timeout: 540_000 }, async () => {
    await withContext(env, async ({ context, open }) => {
      const a = await openSdkPage(open);
      const b = await openSdkPage(open);
      await a.evaluate(async () => {
        window.peer = await T.openPeer();
        window.cycles = 0; // connect/send/close cycles
        window.made = 0; // every connection made, cycles and others
      });
      // b echoes each message and counts the connections that closed.
      const bId = await b.evaluate(async () => {
        window.peer = await T.openPeer();
        window.closedCount = 0; // not window.closed: that is the Window's own read-only flag
        window.peer.on("connection", (conn) => {
          conn.on("data", (data) => conn.send(data));
          conn.on("close", () => window.closedCount++);
        });
        return window.peer.id;
      });
      const sessions = [await context.newCDPSession(a), await context.newCDPSession(b)];
      const farClosed = async () => {
        const n = await a.evaluate(() => window.made);
        await b.evaluate((n) => T.until(() => window.closedCount >= n, 10_000, `${n} close events on the far side`), n);
      };

      let started = Date.now();
      await cycles(a, bId, WARMUP);
      await farClosed();
      const warm = await measure(sessions, [a, b]);
      console.log(`after ${WARMUP} cycles (${((Date.now() - started) / WARMUP).toFixed(0)} ms each):`);
      console.log(`  caller: ${fmt(warm[0])}\n  callee: ${fmt(warm[1])}`);

      // What the figures look like with a connection open, to show that
      // they see connections at all.
      const during = await a.evaluate(async (bId) => {
        const conn = window.peer.connect(bId);
        await T.event(conn, "open", 10_000, "open");
        const stats = Peer.debugStats();
        const closed = T.event(conn, "close", 5_000, "close");
        conn.close(true);
        await closed;
        window.made++;
        return stats;
      }, bId);
      await farClosed();
      console.log(`  caller with one connection open: ${during.goroutines} goroutines, ${during.handles} handles`);

      // A midpoint tells a steady leak (the same growth in each half) from
      // a one-off (caches, compiled code) that the bound has to absorb.
      const MID = (WARMUP + TOTAL) / 2;
      started = Date.now();
      assert.equal(await cycles(a, bId, MID - WARMUP), MID);
      await farClosed();
      const mid = await measure(sessions, [a, b]);
      console.log(`after ${MID} cycles:`);
      console.log(`  caller: ${fmt(mid[0])}\n  callee: ${fmt(mid[1])}`);
      assert.equal(await cycles(a, bId, TOTAL - MID), TOTAL);
      await farClosed();
      let end = await measure(sessions, [a, b]);
      // Go releases a closed connection's goroutines and handles shortly
      // after its close event: give them a few seconds.
      for (let i = 0; i < 10 && end.some((m, j) => m.handles > warm[j].handles || m.goroutines > warm[j].goroutines + 3); i++) {
        await sleep(500);
        end = await measure(sessions, [a, b]);
      }
      console.log(`after ${TOTAL} cycles (${((Date.now() - started) / (TOTAL - WARMUP)).toFixed(0)} ms each, with the measuring):`);
      console.log(`  caller: ${fmt(end[0])}\n  callee: ${fmt(end[1])}`);
      for (const [j, who] of ["caller", "callee"].entries()) {
        const grew = (k) => end[j][k] - warm[j][k];
        const kib = (from, to, k) => `${((to[j][k] - from[j][k]) / 1024).toFixed(0)}`;
        console.log(
          `  ${who} growth over ${TOTAL - WARMUP} cycles: JS heap ${kib(warm, end, "jsHeap")} KiB ` +
            `(${kib(warm, mid, "jsHeap")} + ${kib(mid, end, "jsHeap")}), ` +
            `Go heap ${kib(warm, end, "heapBytes")} KiB (${kib(warm, mid, "heapBytes")} + ${kib(mid, end, "heapBytes")}), ` +
            `goroutines ${grew("goroutines")}, handles ${grew("handles")}`,
        );
      }

      for (const [j, who] of ["caller", "callee"].entries()) {
        const w = warm[j];
        const e = end[j];
        assert.ok(e.jsHeap - w.jsHeap < 2 * MiB, `${who}: JS heap grew ${e.jsHeap - w.jsHeap} bytes, want < 2 MiB`);
        assert.ok(e.goroutines <= w.goroutines + 3, `${who}: ${e.goroutines} goroutines, want <= ${w.goroutines} + 3`);
        assert.ok(e.handles <= w.handles, `${who}: ${e.handles} handles, want <= ${w.handles} (warm-up)`);
        assert.ok(e.heapBytes - w.heapBytes < 8 * MiB, `${who}: Go heap grew ${e.heapBytes - w.heapBytes} bytes, want < 8 MiB`);
      }
    });
  });
});
