import t from 'tap';
import { LivenessCore } from '../../standby-agent/liveness/liveness-core.js';

const ok = (atMs: number) => ({ ok: true, atMs, latencyMs: 1 });
const miss = (atMs: number, error = 'timeout') => ({ ok: false, atMs, latencyMs: 80, error });

t.test('dead after N consecutive misses, with the failures as evidence', async (t) => {
  const core = new LivenessCore({ misses: 3 });
  t.same(core.verdict(), { state: 'unknown' });
  t.equal(core.heartbeat(ok(0)), undefined);
  t.same(core.verdict(), { state: 'alive', lastOkAtMs: 0 });
  t.ok(core.answering());
  t.equal(core.heartbeat(miss(100)), undefined);
  t.notOk(core.answering(), 'one miss: not answering');
  t.equal(core.heartbeat(miss(200)), undefined);
  const v = core.heartbeat(miss(300, 'ECONNREFUSED'));
  t.match(v, {
    state: 'dead',
    atMs: 300,
    reason: /3 consecutive.*ECONNREFUSED/,
    evidence: { kind: 'heartbeat' },
  });
  if (v?.state === 'dead' && v.evidence.kind === 'heartbeat') t.equal(v.evidence.failures.length, 3);
  t.equal(core.heartbeat(miss(400)), undefined, 'the verdict is given once');
  t.equal(core.verdict().state, 'dead');
});

t.test('a success in between resets the count', async (t) => {
  const core = new LivenessCore({ misses: 2 });
  core.heartbeat(miss(0));
  core.heartbeat(ok(100));
  t.equal(core.heartbeat(miss(200)), undefined);
  t.equal(core.heartbeat(miss(300))?.state, 'dead');
});

t.test('link down is death at once; admin down alone is not', async (t) => {
  const core = new LivenessCore({ misses: 5 });
  core.heartbeat(ok(0));
  t.equal(core.portStatus({ atMs: 10, linkDown: false, adminDown: true }), undefined);
  t.equal(core.portUp(), false);
  const v = core.portStatus({ atMs: 20, linkDown: true, adminDown: false });
  t.match(v, { state: 'dead', atMs: 20, evidence: { kind: 'port-down' } });
  core.reset();
  t.same(core.verdict(), { state: 'unknown' });
});

t.test('bad config is refused', async (t) => {
  t.throws(() => new LivenessCore({ misses: 0 }), RangeError);
});
