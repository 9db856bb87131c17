// The addon's live capture (native/src/capture.cc) on a real veth, in a namespace of its own:
// every frame arrives once and in order, at most 128 per JS call with the event loop running
// between calls (a burst does not hold up the agent's other events), a frame larger than the
// batch's share still arrives (and frames too large for a batch, 9,000-byte MTU), the snaplen cuts
// frames, and bad input is refused clearly.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { runFixtureInNamespace } from '../helpers/ns-fixture.js';

/** what test/agent/fixtures/capture-batches-probe.ts prints */
interface Findings {
  frames: number;
  inOrder: boolean;
  lengths: Record<string, number>;
  immediateAfter: number;
  perTurn: number[];
  stats: Record<string, unknown>;
  smallFrames: number;
  smallStats: { truncated: number };
  errors: { noSuchIface: string; badFilter: string };
  jumbo: { frames: number; inOrder: boolean; lengths: Record<string, number> };
}

const id = randomBytes(3).toString('hex');
const NS = `nc${id}`;
const A = `nc${id}a`;
const B = `nc${id}b`;
const quiet = (args: string[]) => spawnSync('ip', args, { stdio: 'ignore' });
const cleanup = () => quiet(['netns', 'del', NS]);
process.once('exit', cleanup);

t.test('batches from a burst of 2,001 frames', async (t) => {
  t.teardown(cleanup);
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'add', A, 'type', 'veth', 'peer', 'name', B]);
  for (const l of [A, B, 'lo']) execFileSync('ip', ['-n', NS, 'link', 'set', l, 'up']);
  const r = runFixtureInNamespace(
    NS,
    'test/agent/fixtures/capture-batches-probe.ts',
    [A, B, '2000'],
    60_000,
  ) as unknown as Findings;
  t.equal(r.frames, 2001, 'every frame, once');
  t.ok(r.inOrder, 'in the order sent');
  t.same(r.lengths, { 54: 2000, 1054: 1 }, 'whole frames (the large one too)');
  t.ok(
    r.immediateAfter >= 1 && r.immediateAfter <= 129,
    `the event loop ran after the first batch, not after the whole burst (${r.immediateAfter} frames in)`,
  );
  t.ok(r.perTurn.length >= 15, `the burst took many turns of the loop (${r.perTurn.length})`);
  t.ok(
    Math.max(...r.perTurn) <= 129,
    `at most a batch (and a left-over frame) a turn: ${Math.max(...r.perTurn)}`,
  );
  t.match(r.stats, { received: 2001, kernelDrops: 0 }, "pcap's counters");
  t.equal(r.smallFrames, 2001, 'the snaplen-64 capture saw them too');
  t.equal(r.smallStats.truncated, 1, 'and counted the one frame it cut');
  t.same(
    r.jumbo,
    { frames: 65, inOrder: true, lengths: { 8054: 65 } },
    'frames too many for one batch buffer: all of them, the last without a frame after it',
  );
  t.match(r.errors.noSuchIface, new RegExp(`${B}zz`), 'an interface that does not exist: named');
  t.match(r.errors.badFilter, /filter "tcp and hots 1\.2\.3\.4"/, 'a filter that does not compile: quoted');
});
