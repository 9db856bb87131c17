// The crafted edge-case captures through the real offline pipeline (pcap reader -> decoder ->
// ConnectionTable -> analyzers -> verdicts): states, counters and verdicts for each case.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { Agent } from '../../standby-agent/agent.js';
import { PcapWriter } from '../../standby-agent/capture/pcap-file.js';
import type { TrackedConnection } from '../../standby-agent/tracking/connection-table.js';
import { verdictFor } from '../../standby-agent/tracking/verdict.js';
import {
  FIXTURES,
  fixturePath,
  gap,
  handshakeHttp,
  midstream,
  reordering,
  retransmission,
  SERVICE,
  SYN_FLOOD_SYNS,
} from '../fixtures/crafted/make.js';

function run(name: string, maxConnections?: number) {
  const agent = new Agent({ services: [SERVICE], maxConnections }, (tsMs) => tsMs);
  agent.readPcap(fixturePath(name));
  return agent;
}

function only(agent: Agent): TrackedConnection {
  const all = [...agent.table.entries()];
  if (all.length !== 1) throw new Error(`expected one connection, got ${all.length}`);
  return all[0];
}

t.test('the committed captures are what make.ts writes', async (t) => {
  for (const [name, make] of Object.entries(FIXTURES)) {
    const w = new PcapWriter();
    for (const f of make()) w.add(f.tsMs, f.data);
    t.ok(w.toBuffer().equals(readFileSync(fixturePath(name))), `${name}.pcap is up to date`);
  }
});

t.test('handshake + keep-alive: restorable with the exact restore values', async (t) => {
  const d = handshakeHttp();
  const agent = run('handshake-http');
  const c = only(agent);
  t.equal(c.state, 'ESTABLISHED');
  t.ok(c.handshakeSeen);
  t.notOk(c.midstream);
  t.equal(c.client.isn, 1000);
  t.equal(c.server.isn, 5000);
  t.equal(c.client.mss, 1460);
  t.equal(c.server.mss, 1400);
  t.equal(c.client.wscale, 7);
  t.equal(c.server.wscale, 9);
  t.equal(c.client.segments, 5);
  t.equal(c.server.segments, 2);
  t.equal(c.client.bytes, 56);
  t.equal(c.server.bytes, 43);
  const v = verdictFor(c, d.t);
  if (!v.restorable) throw t.fail(`not restorable: ${v.reason}`);
  const p = v.params;
  t.equal(p.family, 4);
  t.same(p.local, SERVICE);
  t.same(p.remote, d.client);
  t.equal(p.rcvNxt, d.cseq, 'rcv_nxt = end of the client data');
  t.equal(p.sndUna, d.sseq, 'snd_una = the client ack');
  t.equal(p.sndNxt, d.sseq);
  t.equal(p.sendQueue.length, 0);
  t.equal(p.recvQueue.toString(), 'GET /b HTTP/1.1\r\nHost: s\r\n\r\n', 'the unanswered request');
  t.equal(p.mss, 1460);
  t.equal(p.sndWscale, 7);
  t.equal(p.rcvWscale, 9);
  t.equal(p.sackPermitted, true);
  t.same(p.timestamps?.serviceTsVal, 9001);
  t.same(p.timestamps?.clientTsVal, 104);
  t.equal(p.window.sndWnd, 502 << 7);
  t.equal(p.window.rcvWnd, 509 << 9);
  const rows = agent.connections(d.t);
  t.equal(rows[0].exchanges, 2);
  t.equal(rows[0].restorable, true);
});

t.test('mid-stream pickup: tracked, not restorable, reset at the client ack', async (t) => {
  const d = midstream();
  const c = only(run('midstream'));
  t.equal(c.state, 'ESTABLISHED');
  t.ok(c.midstream);
  t.notOk(c.handshakeSeen);
  const v = verdictFor(c, d.t);
  if (v.restorable) throw t.fail('restorable');
  t.equal(v.code, 'handshake-not-seen');
  t.same(v.reset, { src: SERVICE, dst: d.client, seq: d.sseq });
});

t.test('retransmissions are counted and trimmed; the highest in-order data counts', async (t) => {
  const d = retransmission();
  const c = only(run('retransmission'));
  t.equal(c.client.retransmissions, 1);
  t.equal(c.server.retransmissions, 1);
  t.equal(c.client.bytes, 28, 'the request once');
  t.equal(c.server.bytes, 43, 'the reply once');
  t.equal(c.client.nxt, d.cseq);
  t.equal(c.server.nxt, d.sseq);
  const v = verdictFor(c, d.t);
  t.ok(v.restorable, v.restorable ? 'restorable' : v.reason);
  if (v.restorable) t.equal(v.params.recvQueue.length, 0, 'the request was answered');
  const view = c.analyzer.view();
  t.equal(view.exchanges.length, 1);
  t.ok(view.exchanges[0].reply?.complete);
});

t.test('reordering: the held segment is delivered once the gap fills', async (t) => {
  const d = reordering();
  const c = only(run('reordering'));
  t.equal(c.client.outOfOrder, 1);
  t.equal(c.client.retransmissions, 0);
  t.equal(c.client.bytes, 28);
  t.equal(c.client.held, undefined, 'nothing left held');
  t.equal(c.client.nxt, d.cseq);
  const view = c.analyzer.view();
  t.equal(view.exchanges[0].request.summary.startsWith('GET /a'), true, view.exchanges[0].request.summary);
  t.ok(verdictFor(c, d.t).restorable);
});

t.test('a gap in the client data: not restorable', async (t) => {
  const d = gap();
  const c = only(run('gap'));
  t.equal(c.client.outOfOrder, 1);
  const v = verdictFor(c, d.t);
  if (v.restorable) throw t.fail('restorable');
  t.equal(v.code, 'client-data-gap');
  t.ok(v.reset, 'the client can still be reset');
});

t.test('RST removes the entry', async (t) => {
  const agent = run('rst');
  t.equal(agent.table.size, 0);
  t.equal(agent.table.counters.created, 1);
  t.equal(agent.table.counters.removedReset, 1);
});

t.test('simultaneous close: both FINs acknowledged -> removed as closed', async (t) => {
  const agent = run('simultaneous-close');
  t.equal(agent.table.size, 0);
  t.equal(agent.table.counters.removedClosed, 1);
  t.equal(agent.table.counters.removedReset, 0);
});

t.test('service FIN only: CLOSE_WAIT, kept, not restorable', async (t) => {
  const agent = run('half-closed');
  const c = only(agent);
  t.equal(c.state, 'CLOSE_WAIT');
  const v = verdictFor(c, 0);
  t.equal(v.restorable, false);
  if (!v.restorable) t.equal(v.code, 'closing');
});

t.test('SYN flood: the cap bites on half-open entries, the real connection survives', async (t) => {
  const agent = run('syn-flood', 500);
  const c = agent.table.counters;
  t.equal(agent.table.size, 500, 'table held at the cap');
  t.equal(c.created, SYN_FLOOD_SYNS + 1);
  t.equal(c.evictedCap, SYN_FLOOD_SYNS + 1 - 500);
  t.equal(c.refusedCap, 0);
  const real = agent.table.get('10.0.0.1|40001|10.0.0.10|80');
  if (!real) throw t.fail('the established connection was evicted');
  t.equal(real.state, 'ESTABLISHED');
  t.ok(verdictFor(real, 0).restorable, 'still restorable after the flood');
  const halfOpen = [...agent.table.entries()].filter((e) => e.state === 'SYN_SENT').length;
  t.equal(halfOpen, 499);
  const codes = agent.table.verdicts(0).map((v) => (v.restorable ? 'restorable' : v.code));
  t.equal(codes.filter((c) => c === 'handshake-incomplete').length, 499);
  t.equal(codes.filter((c) => c === 'restorable').length, 1);
});

t.test('half-open entries expire after the half-open timeout', async (t) => {
  const agent = run('syn-flood');
  t.equal(agent.table.size, SYN_FLOOD_SYNS + 1);
  agent.table.sweep(Date.now() + 10 * 60_000 + 1_800_000_000_000);
  t.equal(agent.table.counters.expiredHalfOpen, SYN_FLOOD_SYNS);
  t.equal(agent.table.counters.expiredIdle, 1);
  t.equal(agent.table.size, 0);
});

t.test('a table full of established connections refuses new ones (counted), keeps the old', async (t) => {
  const agent = new Agent({ services: [SERVICE], maxConnections: 1 }, (tsMs) => tsMs);
  agent.readPcap(fixturePath('handshake-http'));
  agent.readPcap(fixturePath('midstream'));
  t.equal(agent.table.size, 1);
  t.equal(agent.table.counters.refusedCap, 3, 'each packet of the new connection refused');
  t.equal(agent.table.counters.evictedCap, 0);
  t.ok(agent.table.get('10.0.0.1|40001|10.0.0.10|80'), 'the established entry stays');
});
