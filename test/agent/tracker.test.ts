// The connection table and its verdicts, driven by real frame bytes through the decoder.
import t, { type Test } from 'tap';
import { decodeFrame } from '../../standby-agent/decode/frame.js';
import {
  ConnectionTable,
  type ConnectionTableOptions,
} from '../../standby-agent/tracking/connection-table.js';
import type { Verdict } from '../../standby-agent/tracking/verdict-types.js';
import { ACK, Conversation, FIN, PSH, RST, SYN, tcpFrame } from './helpers/frames.js';

const SERVICE = { ip: '10.0.0.10', port: 80 };
const REQ = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
const REPLY = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';

function table(opts: Partial<ConnectionTableOptions> = {}) {
  return new ConnectionTable({ services: [SERVICE], ...opts });
}
function feed(tbl: ConnectionTable, frames: Buffer[], now = 1000) {
  for (const f of frames) {
    const seg = decodeFrame(f);
    if (typeof seg === 'string') throw new Error(seg);
    tbl.onPacket(seg, now);
  }
}
function only(tbl: ConnectionTable): Verdict {
  const v = tbl.verdicts(2000);
  if (v.length !== 1) throw new Error(`expected one connection, got ${v.length}`);
  return v[0];
}

/** A handshake and one request, answered and acknowledged. */
function answered(): Conversation {
  const conv = new Conversation();
  conv.handshake();
  conv.c(PSH | ACK, REQ);
  conv.s(PSH | ACK, REPLY);
  conv.c(ACK);
  return conv;
}

t.test('handshake + answered request: restorable with exact values', async (t) => {
  const conv = answered();
  const tbl = table();
  feed(tbl, conv.frames);
  const c = [...tbl.entries()][0];
  t.equal(c.state, 'ESTABLISHED');
  t.ok(c.handshakeSeen);
  t.equal(c.client.mss, 1460);
  t.equal(c.server.wscale, 9);
  const v = only(tbl);
  t.ok(v.restorable, JSON.stringify(v));
  if (!v.restorable) return;
  const p = v.params;
  t.equal(p.rcvNxt, conv.cseq, 'rcv_nxt = next client byte (across the 2^32 wrap)');
  t.equal(p.sndUna, conv.sseq);
  t.equal(p.sndNxt, conv.sseq);
  t.equal(p.sendQueue.length, 0);
  t.equal(p.recvQueue.length, 0, 'nothing unanswered');
  t.equal(p.mss, 1460, "the client's MSS");
  t.equal(p.sndWscale, 7);
  t.equal(p.rcvWscale, 9);
  t.equal(p.sackPermitted, true);
  t.equal(p.timestamps?.serviceTsVal, conv.tsS - 1);
  t.equal(p.timestamps?.clientTsVal, conv.tsC - 1);
  t.equal(p.window.sndWnd, 502 * 128, "client's window scaled by its shift");
  t.equal(p.local.port, 80);
  t.equal(p.remote.ip, '10.0.0.1');
  const view = c.analyzer.view();
  t.equal(view.exchanges.length, 1);
  t.equal(view.exchanges[0].request.summary, 'GET /a');
  t.equal(view.exchanges[0].replyAcked, true);
});

t.test('unanswered request: its bytes go to the receive queue', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  conv.c(PSH | ACK, REQ);
  conv.s(PSH | ACK, REPLY);
  conv.c(PSH | ACK, 'GET /b HTTP/1.1\r\n');
  conv.c(PSH | ACK, 'Host: x\r\n\r\n');
  conv.s(ACK);
  const tbl = table();
  feed(tbl, conv.frames);
  const v = only(tbl);
  t.ok(v.restorable);
  if (v.restorable) t.equal(v.params.recvQueue.toString(), 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
});

t.test('reply partly sent: restorable; the standby reply completes it', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  conv.c(PSH | ACK, REQ);
  conv.s(PSH | ACK, 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhel');
  conv.c(ACK);
  const tbl = table();
  feed(tbl, conv.frames);
  const v = only(tbl);
  t.ok(v.restorable);
  if (v.restorable) {
    t.equal(v.params.replyPrefix?.toString(), 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhel');
    t.equal(v.params.recvQueue.toString(), REQ, 'its request is replayed');
  }
});

t.test('reply partly sent, its bytes beyond the FIFO bound: not restorable', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  conv.c(PSH | ACK, REQ);
  conv.s(PSH | ACK, `HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n${'h'.repeat(100)}`);
  conv.c(ACK);
  const tbl = table({ fifo: { maxExchanges: 8, maxBytes: 64 } });
  feed(tbl, conv.frames);
  const v = only(tbl);
  t.equal(v.restorable, false);
  if (!v.restorable) {
    t.match(v.reason, /not all kept/);
    t.equal(v.code, 'reply-partly-sent');
    t.equal(v.reset?.seq, conv.sseq, "RST at the client's rcv_nxt");
    t.equal(v.reset?.dst.port, 40000);
  }
});

t.test('service bytes in flight go to the send queue', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  conv.c(PSH | ACK, REQ);
  const una = conv.sseq;
  conv.s(PSH | ACK, REPLY); // the client has not acked it yet
  const tbl = table();
  feed(tbl, conv.frames);
  const v = only(tbl);
  t.ok(v.restorable, JSON.stringify(v));
  if (v.restorable) {
    t.equal(v.params.sndUna, una);
    t.equal(v.params.sndNxt, conv.sseq);
    t.equal(v.params.sendQueue.toString(), REPLY);
  }
});

t.test('mid-stream pickup: tracked, not restorable, reset at the client ack', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  conv.c(PSH | ACK, REQ);
  const frames = conv.frames.slice(3);
  conv.s(PSH | ACK, REPLY);
  conv.c(ACK);
  frames.push(...conv.frames.slice(4));
  const tbl = table();
  feed(tbl, frames);
  const c = [...tbl.entries()][0];
  t.equal(c.midstream, true);
  const v = only(tbl);
  t.equal(v.restorable, false);
  if (!v.restorable) {
    t.equal(v.code, 'handshake-not-seen');
    t.equal(v.reset?.seq, conv.sseq);
  }
});

t.test('retransmission and reordering: the highest in-order data counts', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  const s0 = conv.cseq;
  const a = conv.c(PSH | ACK, 'GET /r HTTP/1.1\r\n');
  const b = conv.c(PSH | ACK, 'Host: x\r\n\r\n');
  const retx = tcpFrame({
    src: '10.0.0.1',
    dst: '10.0.0.10',
    sport: 40000,
    dport: 80,
    seq: s0,
    ack: conv.sseq,
    flags: PSH | ACK,
    payload: 'GET /r HTTP/1.1\r\n',
  });
  const tbl = table();
  feed(tbl, [...conv.frames.slice(0, 3), b, a, retx]);
  const c = [...tbl.entries()][0];
  t.equal(c.client.outOfOrder, 1);
  t.equal(c.client.retransmissions, 1);
  t.equal(c.client.nxt, conv.cseq);
  t.equal(c.analyzer.view().exchanges[0].request.complete, true);
  const v = only(tbl);
  t.ok(v.restorable);
  if (v.restorable) t.equal(v.params.recvQueue.toString(), 'GET /r HTTP/1.1\r\nHost: x\r\n\r\n');
});

t.test('a gap never filled: not restorable', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  conv.c(PSH | ACK, 'GET /g HTTP/1.1\r\n');
  const late = conv.c(PSH | ACK, 'Host: x\r\n\r\n');
  const tbl = table();
  feed(tbl, [...conv.frames.slice(0, 3), late]);
  const v = only(tbl);
  t.equal(v.restorable, false);
  if (!v.restorable) t.equal(v.code, 'client-data-gap');
});

/** Feeds the conversation's frames so far but `lost` (the mirror lost it); returns the entry. */
function feedAllBut(tbl: ConnectionTable, conv: Conversation, lost: Buffer) {
  feed(
    tbl,
    conv.frames.splice(0).filter((f) => f !== lost),
  );
  return [...tbl.entries()][0];
}

/** The client sends `req` after the resync: restorable, and `req` is the request to replay. */
function replaysNext(t: Test, tbl: ConnectionTable, conv: Conversation, req = REQ) {
  conv.c(PSH | ACK, req);
  feed(tbl, conv.frames.splice(0));
  const v = only(tbl);
  t.ok(v.restorable, JSON.stringify(v));
  if (v.restorable)
    t.equal(v.params.recvQueue.toString(), req, 'the request after the idle point is replayed');
  return v;
}

// Bytes the mirror lost for good (the receiver acknowledged them): the analyzer cannot follow the
// exchange, so the connection waits, tracking sequence numbers only, until nothing is in flight
// either way; its analyzer then starts afresh and it is restorable again with exact values.
t.test('client bytes lost on the mirror: not restorable until both sides are idle, then again', async (t) => {
  const conv = answered();
  const tbl = table();
  feed(tbl, conv.frames.splice(0));
  const lost = conv.c(PSH | ACK, 'GET /lost HTTP/1.1\r\n');
  conv.c(PSH | ACK, 'Host: x\r\n\r\n');
  conv.s(PSH | ACK, REPLY); // acknowledges the bytes the mirror lost
  const c = feedAllBut(tbl, conv, lost);
  t.equal(c.desynced, 'toServer', 'the client direction lost bytes');
  let v = only(tbl);
  t.equal(v.restorable, false);
  if (!v.restorable) {
    t.equal(v.code, 'client-data-gap');
    t.match(v.reason, /restorable again/);
    t.ok(v.reset, 'it can still be reset');
  }
  t.equal(c.client.held, undefined, 'nothing is held behind the hole');
  conv.c(ACK); // the client has the whole reply: nothing in flight either way
  feed(tbl, conv.frames.splice(0));
  t.equal(c.desynced, undefined, 'resynchronised at the idle point');
  v = only(tbl);
  t.ok(v.restorable, JSON.stringify(v));
  if (v.restorable) {
    t.equal(v.params.rcvNxt, conv.cseq, 'rcv_nxt counts the lost bytes');
    t.equal(v.params.sndNxt, conv.sseq);
    t.equal(v.params.recvQueue.length, 0, 'nothing unanswered');
  }
  // the next request is followed by the fresh analyzer, from its first byte
  replaysNext(t, tbl, conv, 'GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(c.analyzer.view().exchanges[0].request.summary, 'GET /next');
  t.equal(c.resyncUnproven, true, 'idle points are checked until the fresh analyzer has a whole exchange');
  conv.s(PSH | ACK, REPLY);
  conv.c(ACK);
  feed(tbl, conv.frames.splice(0));
  t.equal(c.resyncUnproven, false, '... and no more after it');
  t.same([tbl.counters.desynced, tbl.counters.resynced], [1, 1]);
});

t.test('service bytes lost on the mirror: the same, from the client acknowledging them', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  conv.c(PSH | ACK, REQ);
  const tbl = table();
  feed(tbl, conv.frames.splice(0));
  const lost = conv.s(PSH | ACK, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
  conv.s(PSH | ACK, 'hello'); // held behind the hole
  conv.c(ACK, '', { ack: (conv.sseq - 5) >>> 0 }); // the client has the head the mirror lost
  const c = feedAllBut(tbl, conv, lost);
  t.equal(c.desynced, 'toClient', 'the client has bytes the mirror lost');
  let v = only(tbl);
  t.equal(v.restorable ? '' : v.code, 'service-data-gap');
  t.equal(c.server.held, undefined, 'nothing is held behind the hole');
  conv.c(ACK);
  feed(tbl, conv.frames.splice(0));
  t.equal(c.desynced, undefined, 'resynchronised once the client has all of it');
  v = replaysNext(t, tbl, conv);
  if (v.restorable) {
    t.equal(v.params.sndNxt, conv.sseq);
    t.equal(v.params.sendQueue.length, 0);
  }
});

t.test('desynced, a last segment lost too: the acknowledgement stands for it', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  const tbl = table();
  feed(tbl, conv.frames.splice(0));
  const lost = conv.c(PSH | ACK, 'GET /x HTTP/1.1\r\n');
  conv.c(PSH | ACK, 'Host: x\r\n\r\n');
  conv.s(PSH | ACK, REPLY);
  const c = feedAllBut(tbl, conv, lost);
  t.equal(c.desynced, 'toServer');
  const lastLost = conv.c(PSH | ACK, 'GET /y HTTP/1.1\r\nHost: x\r\n\r\n'); // lost on the mirror too
  conv.s(PSH | ACK, REPLY); // acknowledges it
  conv.c(ACK);
  feedAllBut(tbl, conv, lastLost);
  t.equal(c.client.nxt, conv.cseq, "the client's side follows the service's acknowledgement");
  t.equal(c.desynced, undefined, 'so the idle point is seen, and the connection resynchronised');
  replaysNext(t, tbl, conv);
});

t.test('a resync inside a message (a pause in an upload) tries again at the next idle point', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  const tbl = table();
  feed(tbl, conv.frames.splice(0));
  const lost = conv.c(PSH | ACK, 'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n');
  conv.c(PSH | ACK, 'abcde');
  conv.s(ACK); // all acknowledged, and nothing from the service: idle, but inside the body
  const c = feedAllBut(tbl, conv, lost);
  t.equal(c.desynced, undefined, 'resynchronised (at a false boundary)');
  conv.c(PSH | ACK, 'fghij');
  conv.s(PSH | ACK, REPLY);
  conv.c(ACK);
  feed(tbl, conv.frames.splice(0));
  t.equal(only(tbl).restorable, true, 'the idle point after the reply started the analyzer afresh once more');
  t.equal(c.resyncs, 2);
  replaysNext(t, tbl, conv);
});

t.test('too many segments behind a hole: lost for good, and resynchronised later', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  const tbl = table({ maxHeldSegments: 2 });
  feed(tbl, conv.frames.splice(0));
  const lost = conv.c(PSH | ACK, 'GET /x HTTP/1.1\r\n');
  for (let i = 0; i < 4; i++) conv.c(PSH | ACK, `X-${i}: y\r\n`);
  conv.c(PSH | ACK, '\r\n');
  const c = feedAllBut(tbl, conv, lost);
  t.equal(c.desynced, 'toServer', 'the held bound was hit: the hole will not fill');
  t.equal(c.client.nxt, conv.cseq, 'the client side is followed to its last byte');
  conv.s(PSH | ACK, REPLY);
  conv.c(ACK);
  replaysNext(t, tbl, conv);
});

t.test('RST and FIN/FIN remove the entry', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  conv.c(RST | ACK);
  const tbl = table();
  feed(tbl, conv.frames);
  t.equal(tbl.size, 0);
  t.equal(tbl.counters.removedReset, 1);

  const sim = new Conversation({ ip: '10.0.0.2', port: 40001 });
  sim.handshake();
  // simultaneous close: both FINs cross, then both ACKs
  const cf = sim.c(FIN | ACK);
  const sf = tcpFrame({
    src: '10.0.0.10',
    dst: '10.0.0.2',
    sport: 80,
    dport: 40001,
    seq: sim.sseq,
    ack: sim.cseq - 1,
    flags: FIN | ACK,
  });
  sim.sseq = (sim.sseq + 1) >>> 0;
  const ca = sim.c(ACK);
  const sa = sim.s(ACK);
  feed(tbl, [...sim.frames.slice(0, 3), cf, sf]);
  t.equal([...tbl.entries()][0].state, 'CLOSING');
  feed(tbl, [ca, sa]);
  t.equal(tbl.size, 0, 'closed after both FINs were acknowledged');
  t.equal(tbl.counters.removedClosed, 1);
});

t.test('SYN flood: the cap holds, established connections survive', async (t) => {
  const tbl = table({ maxEntries: 100 });
  const good = new Conversation({ ip: '10.0.0.3', port: 50000 });
  good.handshake();
  feed(tbl, good.frames);
  for (let i = 0; i < 5000; i++) {
    feed(tbl, [
      tcpFrame({
        src: `10.1.${i >> 8}.${i & 255}`,
        dst: '10.0.0.10',
        sport: 1024 + (i % 60000),
        dport: 80,
        seq: i,
        flags: SYN,
        options: { mss: 1460 },
      }),
    ]);
  }
  t.equal(tbl.size, 100, 'never above the cap');
  t.ok(tbl.counters.evictedCap >= 4900, 'half-open entries evicted');
  t.ok(
    [...tbl.entries()].some((c) => c.clientEp.port === 50000),
    'the established connection is still tracked',
  );
  tbl.sweep(1000 + 31_000);
  t.equal(tbl.size, 1, 'half-open entries expire after 30 s');
});

t.test('traffic of other hosts and ports is ignored; VLAN tags are stepped over', async (t) => {
  const tbl = table();
  feed(tbl, [tcpFrame({ src: '10.0.0.1', dst: '10.0.0.99', sport: 1, dport: 80, seq: 1, flags: SYN })]);
  feed(tbl, [tcpFrame({ src: '10.0.0.1', dst: '10.0.0.10', sport: 1, dport: 81, seq: 1, flags: SYN })]);
  t.equal(tbl.size, 0);
  t.equal(tbl.counters.notWatched, 2);
  feed(tbl, [
    tcpFrame({ src: '10.0.0.1', dst: '10.0.0.10', sport: 1, dport: 80, seq: 1, flags: SYN, vlan: 42 }),
  ]);
  t.equal(tbl.size, 1);
});

t.test('generic protocol: restorable only while no payload flowed', async (t) => {
  const conv = new Conversation({ ip: '10.0.0.5', port: 45000 }, { ip: '10.0.0.10', port: 9000 });
  conv.handshake();
  const tbl = new ConnectionTable({ services: [{ ip: '10.0.0.10', port: 0 }] });
  feed(tbl, conv.frames);
  t.equal(only(tbl).restorable, true);
  conv.c(PSH | ACK, 'hello');
  feed(tbl, conv.frames.slice(3));
  const v = only(tbl);
  t.equal(v.restorable, false);
  if (!v.restorable) t.equal(v.code, 'not-analysable');
});

t.test(
  'verdictsSince: only the connections whose client sent bytes, or acknowledged kept service bytes, after the mark',
  async (t) => {
    const a = new Conversation({ ip: '10.0.0.1', port: 40001 });
    const b = new Conversation({ ip: '10.0.0.2', port: 40002 });
    for (const conv of [a, b]) {
      conv.handshake();
      conv.c(PSH | ACK, REQ);
      conv.s(PSH | ACK, REPLY);
    }
    a.c(ACK); // b's client has not acknowledged its reply yet: a restore would send it again
    const tbl = table();
    feed(tbl, [...a.frames, ...b.frames]);
    let mark = tbl.dataMark();
    t.same(tbl.verdictsSince(mark, 2000), [], 'nothing new yet');
    let from = a.frames.length;
    a.c(ACK); // acknowledges nothing kept
    feed(tbl, a.frames.slice(from));
    t.same(tbl.verdictsSince(mark, 2000), [], 'an ACK of nothing kept does not count');
    const before = b.frames.length;
    b.c(ACK); // the reply arrived: nothing left to send again
    feed(tbl, b.frames.slice(before));
    const acked = tbl.verdictsSince(mark, 2000);
    t.equal(acked.length, 1, 'an ACK of kept service bytes counts');
    const bv = acked[0];
    t.ok(bv.restorable && bv.params.remote.port === 40002, 'for the connection it acknowledged');
    if (bv.restorable) t.equal(bv.params.sendQueue.length, 0, 'whose send queue is now empty');
    mark = tbl.dataMark();
    from = b.frames.length;
    b.s(PSH | ACK, REPLY); // the service's bytes are not the client's
    feed(tbl, b.frames.slice(from));
    t.same(tbl.verdictsSince(mark, 2000), [], 'service bytes do not count');
    const again = a.frames.length;
    a.c(PSH | ACK, REQ);
    feed(tbl, a.frames.slice(again));
    const later = tbl.verdictsSince(mark, 2000);
    t.equal(later.length, 1, 'one connection sent more');
    const v = later[0];
    t.ok(v.restorable && v.params.remote.port === 40001, 'the one that did');
    if (v.restorable) t.equal(v.params.recvQueue.toString(), REQ, 'with its new bytes to top up');
    t.same(tbl.verdictsSince(tbl.dataMark(), 2000), [], 'a new mark starts again');
  },
);

t.test('an idle connection lets its kept byte storage go and carries on as before', async (t) => {
  const run = (idleGapMs: number) => {
    const conv = new Conversation({ ip: '10.0.0.1', port: 40001 });
    const other = new Conversation({ ip: '10.0.0.2', port: 40002 });
    conv.handshake();
    conv.c(PSH | ACK, REQ);
    conv.s(PSH | ACK, REPLY);
    conv.c(ACK);
    other.handshake();
    const tbl = table();
    feed(tbl, conv.frames, 1000);
    const c = [...tbl.entries()][0];
    const keptAtFirst = c.unacked !== undefined;
    // the other connection's frames move the table's clock on: its sweep finds conv idle
    feed(tbl, other.frames, 1000 + idleGapMs);
    const keptAfter = c.unacked !== undefined;
    const from = conv.frames.length;
    conv.c(PSH | ACK, REQ);
    conv.s(PSH | ACK, REPLY); // not acknowledged yet: in the send queue
    feed(tbl, conv.frames.slice(from), 1000 + idleGapMs);
    const v = tbl.verdicts(1000 + idleGapMs).find((x) => x.restorable && x.params.remote.port === 40001);
    return { keptAtFirst, keptAfter, v };
  };
  const busy = run(500);
  const idle = run(2500);
  t.ok(busy.keptAtFirst, 'an emptied send queue keeps its storage for the next reply');
  t.ok(busy.keptAfter, 'kept while the connection is busy');
  t.notOk(idle.keptAfter, 'let go once it was idle for 2 s');
  t.ok(idle.v?.restorable, 'the connection is restorable after');
  if (idle.v?.restorable && busy.v?.restorable) {
    t.equal(idle.v.params.sendQueue.toString(), REPLY, 'its new reply is kept');
    // the same restore as without the pause (but for when the service's timestamp was seen)
    const at = (p: typeof idle.v.params) => ({ ...p, timestamps: { ...p.timestamps, seenAtMs: 0 } });
    t.same(at(idle.v.params), at(busy.v.params), 'the same restore as without the idle pause');
  }
});

t.test(
  'lastServiceDataMs: when the service last sent new bytes (not ACKs, not retransmissions)',
  async (t) => {
    const conv = new Conversation();
    conv.handshake();
    const tbl = table();
    feed(tbl, conv.frames, 1000);
    t.equal(tbl.lastServiceDataMs(), undefined, 'a handshake carries no bytes');
    const a = conv.frames.length;
    conv.c(PSH | ACK, REQ);
    feed(tbl, conv.frames.slice(a), 1100);
    t.equal(tbl.lastServiceDataMs(), undefined, "the client's bytes do not count");
    const b = conv.frames.length;
    const reply = conv.s(PSH | ACK, REPLY);
    feed(tbl, conv.frames.slice(b), 1200);
    t.equal(tbl.lastServiceDataMs(), 1200, 'the reply');
    feed(tbl, [reply], 1300);
    t.equal(tbl.lastServiceDataMs(), 1200, 'its retransmission is not new');
    const c = conv.frames.length;
    conv.s(ACK);
    feed(tbl, conv.frames.slice(c), 1400);
    t.equal(
      tbl.lastServiceDataMs(),
      1200,
      'a bare ACK (a kernel with a hung application sends those) is not',
    );
  },
);

t.test('serviceFrames: every frame from a service endpoint, of any kind, tracked or not', async (t) => {
  const conv = new Conversation();
  conv.handshake();
  const tbl = table();
  feed(tbl, conv.frames);
  t.equal(tbl.serviceFrames, 1, "the handshake's SYN-ACK");
  const a = conv.frames.length;
  conv.c(PSH | ACK, REQ);
  conv.s(ACK);
  const reply = conv.s(PSH | ACK, REPLY);
  feed(tbl, conv.frames.slice(a));
  t.equal(tbl.serviceFrames, 3, "a bare ACK and the reply count, the client's request does not");
  feed(tbl, [reply]);
  t.equal(tbl.serviceFrames, 4, 'a retransmission counts: the switch forwarded it');
  const midStream = new Conversation({ ip: '10.0.0.2', port: 40002 });
  feed(tbl, [midStream.s(ACK)]);
  t.equal(tbl.serviceFrames, 5, 'a connection never seen before counts too');
  feed(tbl, [tcpFrame({ src: '10.0.0.11', dst: '10.0.0.1', sport: 80, dport: 40000, seq: 1, flags: ACK })]);
  t.equal(tbl.serviceFrames, 5, 'another host does not');
});
