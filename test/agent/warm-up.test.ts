// The capture warm-up feeds well-formed synthetic exchanges through the real pipeline: every
// frame decodes, every connection is tracked through its handshake and reset.
import t from 'tap';
import { warmUpPipeline } from '../../standby-agent/capture/warm-up.js';

t.test('synthetic exchanges go through the whole pipeline', async (t) => {
  const r = warmUpPipeline([{ ip: '10.0.0.1', port: 80 }], undefined, 20_000);
  t.ok(r.packets >= 19_000, `${r.packets} packets`);
  t.equal(r.undecodable, 0, 'every frame decodes, nothing throws');
  t.equal(r.connections, 200, 'every synthetic connection tracked');
  t.equal(r.reset, 200, 'and removed by its RST');
  t.equal(r.verdicts, 2000, 'ten snapshots of the 200 connections');
  t.equal(
    r.restorable,
    2000,
    'each restorable (unanswered, idle, a reply in flight, half a request: all values known)',
  );
});

t.test('generic and port-0 services, IPv6-only services', async (t) => {
  const g = warmUpPipeline([{ ip: '10.0.0.1', port: 0 }], { 80: 'generic' }, 5_000);
  t.equal(g.undecodable, 0);
  t.equal(g.connections, 200);
  t.same(
    warmUpPipeline([{ ip: 'fd00::1', port: 80 }], undefined).packets,
    0,
    'nothing to warm for IPv6 only',
  );
});
