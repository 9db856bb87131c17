// A cold agent runs its per-packet path in V8's interpreter, several times slower than the
// optimised code it gets after some thousands of packets. Live capture starts under full load
// (a busy service is the reason to run Nonstop), and falling behind at start overflows the
// capture ring: lost frames are gaps, and a gap makes a connection unrestorable. So before
// capturing, synthetic exchanges (TEST-NET-1 clients, never sent anywhere) go through a scratch
// table with the real services and analyzers, until the hot path is compiled.
import { performance } from 'node:perf_hooks';
import type { Protocol } from '../analyzers/types.js';
import { ipv4Number } from '../decode/frame.js';
import { Pipeline } from '../pipeline.js';
import type { RepairSpec } from '../restore/repair-addon.js';
import { toRepairSpec } from '../restore/repair-socket.js';
import { packRestoreSpecs } from '../restore/restore-batch.js';
import { ConnectionTable, type ServiceSpec } from '../tracking/connection-table.js';

/** snapshots of the scratch table taken (see below) */
const VERDICT_ROUNDS = 40;
/** the top-up's views taken per snapshot (see below) */
const SINCE_PER_ROUND = 4;
/** snapshots taken per round (see below) */
const SNAPSHOTS_PER_ROUND = 2;

const REQUEST = Buffer.from('GET /warm-up HTTP/1.1\r\nHost: nonstop\r\n\r\n');
const REPLY = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n${'w'.repeat(64)}`);

/** Ethernet + IPv4 + TCP (with the timestamp option) frame; checksums are left zero. */
function frame(
  src: number,
  dst: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  payload: Buffer,
): Buffer {
  const syn = (flags & 0x02) !== 0;
  const optLen = syn ? 20 : 12;
  const b = Buffer.alloc(14 + 20 + 20 + optLen + payload.length);
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x45;
  b.writeUInt16BE(20 + 20 + optLen + payload.length, 16);
  b[22] = 64;
  b[23] = 6;
  b.writeUInt32BE(src, 26);
  b.writeUInt32BE(dst, 30);
  const t = 34;
  b.writeUInt16BE(sport, t);
  b.writeUInt16BE(dport, t + 2);
  b.writeUInt32BE(seq >>> 0, t + 4);
  b.writeUInt32BE(ack >>> 0, t + 8);
  b[t + 12] = ((20 + optLen) / 4) << 4;
  b[t + 13] = flags;
  b.writeUInt16BE(502, t + 14);
  let o = t + 20;
  if (syn) {
    b.set([2, 4, 0x05, 0xb4, 4, 2], o); // MSS 1460, SACK-permitted
    o += 6;
  } else {
    b.set([1, 1], o);
    o += 2;
  }
  b.set([8, 10], o); // timestamps
  b.writeUInt32BE(seq >>> 0, o + 2);
  b.writeUInt32BE(ack >>> 0, o + 6);
  o += 10;
  if (syn) b.set([1, 3, 3, 7], o); // NOP, window scale 7
  payload.copy(b, 14 + 20 + 20 + optLen);
  return b;
}

export interface WarmUpResult {
  packets: number;
  ms: number;
  /** connections the scratch table tracked and then saw reset (all of them, when the frames are right) */
  connections: number;
  reset: number;
  /** frames the decoder refused (0 when the frames are right) */
  undecodable: number;
  /** verdicts taken of the scratch connections, and how many of them were restorable (all, when
   *  the frames are right): a failover's snapshots then run optimised code (cold, a thousand
   *  verdicts took 2-3x longer) */
  verdicts: number;
  restorable: number;
}

/** Runs `packets` synthetic packets (about) through a scratch pipeline; returns what it did. */
export function warmUpPipeline(
  services: ServiceSpec[],
  protocols: Record<number, Protocol> | undefined,
  packets = 60_000,
): WarmUpResult {
  const service = services.find((s) => ipv4Number(s.ip) >= 0);
  if (!service)
    return { packets: 0, ms: 0, connections: 0, reset: 0, undecodable: 0, verdicts: 0, restorable: 0 };
  const t0 = performance.now();
  const serviceIp = ipv4Number(service.ip);
  const port = service.port || 80;
  const table = new ConnectionTable({ services: [service], protocols, maxEntries: 1000 });
  const pipeline = new Pipeline(table, (ts) => ts);
  const connections = 200;
  const rounds = Math.max(1, Math.floor((packets / connections - 4) / 3));
  // a live capture's clock, fractional milliseconds: from small whole numbers V8 would store
  // the times as small integers, and the first live frame would change their representation
  let now = performance.now();
  const feed = (f: Buffer) => {
    now += 0.01;
    pipeline.onBytes(f, 0, f.length, now);
  };
  const ends: Array<{ client: number; cport: number; c: number; s: number }> = [];
  /** the top-up's view (verdictsSince) then finds the connections that sent bytes after it */
  let mark = 0;
  for (let i = 0; i < connections; i++) {
    const client = (0xc0000200 | (i & 0xff)) >>> 0; // 192.0.2.x
    const cport = 20000 + i;
    // sequence numbers as live ones are: anywhere in 32 bits, some wrapping round during the
    // warm-up. From small ones, V8 would store the tracker's fields as small integers, and the
    // first live connection would change their representation, discarding optimised code
    // that depends on it (--trace-deopt: "code dependencies")
    let c = (0xffffe000 + i * 40) >>> 0;
    let s = (0x9e3779b9 + i * 7919) >>> 0;
    feed(frame(client, serviceIp, cport, port, c - 1, 0, 0x02, Buffer.alloc(0)));
    feed(frame(serviceIp, client, port, cport, s - 1, c, 0x12, Buffer.alloc(0)));
    feed(frame(client, serviceIp, cport, port, c, s, 0x10, Buffer.alloc(0)));
    for (let r = 0; r < rounds; r++) {
      feed(frame(client, serviceIp, cport, port, c, s, 0x18, REQUEST));
      c += REQUEST.length;
      feed(frame(serviceIp, client, port, cport, s, c, 0x18, REPLY));
      s += REPLY.length;
      feed(frame(client, serviceIp, cport, port, c, s, 0x10, Buffer.alloc(0)));
    }
    if (i === 0) mark = table.dataMark();
    // Each connection ends the way a live one may stand at a failover, so that the snapshot's
    // code has met every branch (one it never took deoptimises it: measured, the first snapshot
    // of a thousand connections then took 18-29 ms instead of 1-4):
    switch (i % 4) {
      case 0: // an unanswered request: the failover's usual case
        feed(frame(client, serviceIp, cport, port, c, s, 0x18, REQUEST));
        c += REQUEST.length;
        break;
      case 1: // idle: everything answered and acknowledged
        break;
      case 2: // a reply on its way, not yet acknowledged (the restored socket's send queue)
        feed(frame(client, serviceIp, cport, port, c, s, 0x18, REQUEST));
        c += REQUEST.length;
        feed(frame(serviceIp, client, port, cport, s, c, 0x18, REPLY));
        s += REPLY.length;
        break;
      case 3: // half a request
        feed(frame(client, serviceIp, cport, port, c, s, 0x18, REQUEST.subarray(0, 10)));
        c += 10;
        break;
    }
    ends.push({ client, cport, c, s });
  }
  let verdicts = 0;
  let restorable = 0;
  // As many rounds as it takes V8 to optimise what a failover runs once per connection (the
  // view, the verdict, its restore spec packed for the addon): fewer, and a thousand-connection
  // failover met them cold and had them optimised while it ran, 30-40 ms of compiler threads'
  // CPU taken from the switch and the services at the worst moment (--trace-opt)
  for (let r = 0; r < VERDICT_ROUNDS; r++) {
    const specs: RepairSpec[] = [];
    for (const v of table.verdicts(now)) {
      verdicts++;
      if (!v.restorable) continue;
      restorable++;
      specs.push(toRepairSpec(v.params)); // as the restore calls it: its clock, not the table's
    }
    packRestoreSpecs(specs);
    // the snapshot's own loop (a thousand verdicts in a failover) runs once a failover too: taken
    // once a round, it was left unoptimised by the warm-up in about 1 run in 20 of the warm-up test
    // (3 at once), and then optimised in the failover
    for (let v = 1; v < SNAPSHOTS_PER_ROUND; v++) table.verdicts(now);
    // the top-up's view runs once per round where the snapshot's per-connection work runs
    // hundreds of times: taken once a round, it was sometimes optimised only at the end of the
    // warm-up, or in the failover (1 in 5 runs of the warm-up test)
    for (let v = 0; v < SINCE_PER_ROUND; v++) table.verdictsSince(mark, now);
  }
  for (const e of ends) feed(frame(e.client, serviceIp, e.cport, port, e.c, e.s, 0x04, Buffer.alloc(0)));
  return {
    packets: pipeline.frames,
    ms: performance.now() - t0,
    connections: table.counters.created,
    reset: table.counters.removedReset,
    undecodable: Object.values(pipeline.skipped).reduce((a, b) => a + b, 0) + pipeline.agentErrors,
    verdicts,
    restorable,
  };
}
