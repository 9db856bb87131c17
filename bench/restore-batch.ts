// bench/restore-batch: one restore() batch of repaired sockets (the failover's restore step,
// without a network), on one thread (the reference) and on the default threads, interleaved in
// the same process; and the JS half alone (checking and packing the specs). Runs in a scratch
// network namespace of its own, on its loopback. Run: npx tsx bench/restore-batch.ts
// [--sockets 1000] [--rounds 40]
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadRepairAddon, type RepairSpec } from '../standby-agent/restore/repair-addon.js';
import { packRestoreSpecs } from '../standby-agent/restore/restore-batch.js';

const SCRATCH = 'NONSTOP_BENCH_SCRATCH_NS';
if (!process.env[SCRATCH]) {
  // the sockets go on the loopback of a namespace made for this run (gone when it exits)
  const r = spawnSync(
    'unshare',
    [
      '--net',
      'sh',
      '-c',
      'ip link set lo up && exec "$0" "$@"',
      process.execPath,
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env: { ...process.env, [SCRATCH]: '1' } },
  );
  process.exit(r.status ?? 1);
}

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '40' },
  },
});
const n = Number(values.sockets);
const rounds = Number(values.rounds);
const addon = loadRepairAddon();
addon.reserveFds(4 * n + 1024);

/** specs as a failover's restore has them: a request in the receive queue, some replies unacked */
function specs(base: number): RepairSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    localIp: '127.0.0.1',
    localPort: 80,
    remoteIp: '127.0.0.2',
    remotePort: 10_000 + base + i,
    sendSeq: (0x9000_0000 + i * 7919) >>> 0,
    recvSeq: (0x1234_5678 + i) >>> 0,
    mss: 1460,
    sndWscale: 7,
    rcvWscale: 7,
    sack: true,
    tsVal: 123_456 + i,
    window: {
      sndWl1: (0x1234_5678 + i + 100) >>> 0,
      sndWnd: 64_240,
      maxWindow: 64_240,
      rcvWnd: 65_535,
      rcvWup: (0x1234_5678 + i + 100) >>> 0,
    },
    recvQueue: Buffer.alloc(100, 0x41),
    sendQueue: i % 3 === 0 ? Buffer.alloc(200, 0x42) : undefined,
  }));
}

const times = { one: [] as number[], auto: [] as number[], pack: [] as number[] };
for (let r = 0; r < rounds; r++) {
  for (const mode of ['one', 'auto'] as const) {
    const list = specs((r % 2) * n);
    const t0 = performance.now();
    const out = addon.restore(list, mode === 'one' ? 1 : undefined);
    times[mode].push(performance.now() - t0);
    let made = 0;
    for (const fd of out) {
      if (typeof fd !== 'number') throw fd;
      made++;
      addon.closeSilently(fd);
    }
    if (made !== n) throw new Error(`${made}/${n} restored`);
  }
  const list = specs(0);
  const t0 = performance.now();
  packRestoreSpecs(list);
  times.pack.push(performance.now() - t0);
}

const q = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const line = (name: string, xs: number[]) =>
  `${name}: p50 ${q(xs, 0.5).toFixed(2)} ms, min ${q(xs, 0).toFixed(2)}, p90 ${q(xs, 0.9).toFixed(2)} (${((q(xs, 0.5) * 1000) / n).toFixed(1)} us per socket)`;
// the first rounds warm V8 and the kernel's caches: the figures are of the rest
const warm = (xs: number[]) => xs.slice(Math.min(5, xs.length - 1));
console.log(`restore-batch: ${n} repaired sockets per batch, ${rounds} rounds (first 5 not counted)`);
console.log(`  ${line('one thread (reference)', warm(times.one))}`);
console.log(`  ${line('default threads       ', warm(times.auto))}`);
console.log(`  ${line('checking and packing  ', warm(times.pack))}`);
console.log(
  `  default / one thread (p50): ${(q(warm(times.auto), 0.5) / q(warm(times.one), 0.5)).toFixed(2)}x`,
);
