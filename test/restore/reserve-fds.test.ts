// reserveFds grows the descriptor table at start, so a failover's thousands of new sockets never
// wait for it to grow (each doubling waits for an RCU grace period in a threaded process). A
// fresh process shows it in /proc/self/status (FDSize), capped by its RLIMIT_NOFILE.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const addon = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '../..'),
  'standby-agent/native/build/Release/nonstop_repair.node',
);

function fdSizeAfter(n: number | undefined, limit?: number): { fdSize: number; reserved: number } {
  const script = `
    const a = require(${JSON.stringify(addon)});
    const reserved = ${n === undefined ? 0 : `a.reserveFds(${n})`};
    const fdSize = Number(/FDSize:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
    console.log(JSON.stringify({ fdSize, reserved }));`;
  const cmd =
    limit === undefined
      ? [process.execPath, '-e', script]
      : ['prlimit', `--nofile=${limit}`, process.execPath, '-e', script];
  return JSON.parse(execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' }));
}

t.test('the table is grown at once, and no further than the limit allows', async (t) => {
  const before = fdSizeAfter(undefined);
  t.ok(before.fdSize < 4096, `a fresh process starts small (${before.fdSize})`);
  const grown = fdSizeAfter(32768, 20000);
  t.equal(grown.reserved, 20000, 'capped by RLIMIT_NOFILE');
  t.ok(grown.fdSize >= 20000, `the table holds ${grown.fdSize} descriptors`);
  const small = fdSizeAfter(4096, 20000);
  t.ok(small.fdSize >= 4096 && small.fdSize < 20000, `as asked (${small.fdSize})`);
});

/** RLIMIT_NOFILE of a fresh process after raiseFdLimit(n), started with `limit` (soft:hard). */
function limitAfter(
  n: number,
  limit: string,
  user?: string,
): { soft: number; hard: number; returned: number } {
  const script = `
    const a = require(${JSON.stringify(addon)});
    const returned = a.raiseFdLimit(${n});
    const m = /Max open files\\s+(\\d+)\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/limits', 'utf8'));
    console.log(JSON.stringify({ soft: Number(m[1]), hard: Number(m[2]), returned }));`;
  const cmd = [
    'prlimit',
    `--nofile=${limit}`,
    ...(user ? ['setpriv', `--reuid=${user}`, '--clear-groups'] : []),
    process.execPath,
    '-e',
    script,
  ];
  return JSON.parse(execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' }));
}

/** whether this process may raise hard limits (CAP_SYS_RESOURCE, bit 24) */
const capSysResource =
  (BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`) >>
    24n) &
  1n;

t.test('the soft descriptor limit is raised to the hard one, and beyond where allowed', async (t) => {
  const nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8'));
  if (capSysResource) {
    t.same(limitAfter(262144, '1024:20000'), { soft: 262144, hard: 262144, returned: 262144 }, 'both raised');
    t.equal(limitAfter(nrOpen * 4, '1024:20000').soft, nrOpen, 'at most fs.nr_open');
  } else {
    // this machine's root lacks CAP_SYS_RESOURCE: the hard limit stays
    t.same(
      limitAfter(262144, '1024:20000'),
      { soft: 20000, hard: 20000, returned: 20000 },
      'up to the hard limit',
    );
  }
  t.same(limitAfter(4096, '20000:20000'), { soft: 20000, hard: 20000, returned: 20000 }, 'never lowered');
  t.same(
    limitAfter(262144, '1024:20000', 'nobody'),
    { soft: 20000, hard: 20000, returned: 20000 },
    'without privilege: up to the hard limit',
  );
  t.throws(() => limitAfter(0, '1024:20000'), 'a bad n is refused');
});
