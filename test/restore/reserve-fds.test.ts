// reserveFds grows the descriptor table at start, so a failover's thousands of new sockets never
// wait for it to grow (each doubling waits for an RCU grace period in a threaded process). A
// fresh process shows it in /proc/self/status (FDSize), capped by its RLIMIT_NOFILE.
import { execFileSync } from 'node:child_process';
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
