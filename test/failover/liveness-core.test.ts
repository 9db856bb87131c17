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
  core.heartbeat(ok(0));
  core.heartbeat(miss(50));
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

t.test('the mirror as a witness: a service still sending to its clients is not dead', async (t) => {
  const core = new LivenessCore({ misses: 2 });
  core.heartbeat(ok(0));
  // probes sent at 20 and 120 time out (80 ms): the mirror saw the service send at 190
  t.equal(core.heartbeat(miss(100), 90), undefined);
  t.equal(core.heartbeat(miss(200), 190), undefined, 'sent while the last probe was out: alive');
  t.same(core.verdict(), { state: 'degraded', failures: 2, serviceDataAtMs: 190 });
  t.equal(core.vetoed, 1);
  t.notOk(core.answering(), 'degraded is not answering (a manual failover still may go ahead)');
  t.equal(core.heartbeat(miss(300), 280), undefined, 'still sending: still alive');
  // the service stops: nothing new after 290, the probe sent at 320 times out
  const v = core.heartbeat(miss(400), 290);
  t.match(
    v,
    { state: 'dead', reason: /2 consecutive heartbeats failed/ },
    'nothing sent during the probe: dead',
  );
  if (v?.state === 'dead' && v.evidence.kind === 'heartbeat')
    t.same(
      v.evidence.failures.map((f) => f.atMs),
      [300, 400],
      'the evidence: the last misses',
    );
  t.equal(core.vetoed, 2);
});

t.test('a hung service (no new bytes to anyone) is found dead as fast as without the witness', async (t) => {
  const core = new LivenessCore({ misses: 2 });
  core.heartbeat(ok(0));
  // its last bytes went out at 50, before either failed probe was sent
  t.equal(core.heartbeat(miss(100), 50), undefined);
  t.match(core.heartbeat(miss(200), 50), { state: 'dead' });
  t.equal(core.vetoed, 0);
});

t.test('an answered heartbeat ends the degraded state', async (t) => {
  const core = new LivenessCore({ misses: 2 });
  core.heartbeat(ok(0));
  core.heartbeat(miss(100), 95);
  core.heartbeat(miss(200), 195);
  t.equal(core.verdict().state, 'degraded');
  core.heartbeat(ok(300));
  t.same(core.verdict(), { state: 'alive', lastOkAtMs: 300 });
});

t.test('heartbeats that never succeeded declare nothing (a wrong target is not a death)', async (t) => {
  const core = new LivenessCore({ misses: 2 });
  for (let i = 1; i <= 5; i++) t.equal(core.heartbeat(miss(i * 100)), undefined);
  t.ok(core.neverAnswered, 'said');
  t.same(core.verdict(), { state: 'unknown' });
  t.match(
    core.portStatus({ atMs: 600, linkDown: true, adminDown: false }),
    { state: 'dead' },
    'a lost link still is',
  );
});
