// The Mininet scenario (Debian's mininet, /usr/bin/python3) in a network namespace of its own,
// so its userspace ovs-vswitchd never meets another: builds ha-basic from the topology file,
// checks ping and HTTP, and mirroring / failover as far as the controller and agent exist.
// (Never `mn -c` or the `mn` CLI here: Mininet's cleanup pkills by name machine-wide.)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { namespacePids, run } from '../../topology/lab/index.js';
import { createTestLab } from '../helpers/lab.js';

interface ScenarioResult {
  topology: string;
  ok: boolean;
  error?: string;
  missing: string[];
  checks: Record<string, { ok: boolean } & Record<string, unknown>>;
}

t.test('mininet scenario on ha-basic', async (t) => {
  const lab = await createTestLab(t);
  const ns = await lab.addNamespace('mn');
  const workdir = join(lab.dir, 'mn');
  const r = await run(
    'ip',
    ['netns', 'exec', ns, '/usr/bin/python3', 'mininet/scenario.py', '--workdir', workdir],
    {
      timeoutMs: 110_000,
    },
  ).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
  let result: ScenarioResult;
  try {
    result = JSON.parse(r.stdout);
  } catch {
    t.fail(`scenario printed no JSON: ${r.stdout.slice(0, 300)} ${r.stderr.slice(-1500)}`);
    return;
  }
  t.notOk(result.error, `no error: ${result.error}`);
  t.equal(result.topology, 'ha-basic');
  t.ok(result.checks.ping?.ok, `client pings the service: ${JSON.stringify(result.checks.ping)}`);
  t.ok(result.checks.http?.ok, `client gets the service page: ${JSON.stringify(result.checks.http)}`);
  const hasController = existsSync('controller/cli.ts');
  const hasAgent = existsSync('standby-agent/cli.ts');
  if (hasController)
    t.ok(
      result.checks.mirroring?.ok,
      `mirroring seen on the standby: ${JSON.stringify(result.checks.mirroring)}`,
    );
  else t.match(result.missing.join('\n'), /controller/, 'reports the controller missing');
  if (hasController && hasAgent) {
    t.ok(result.checks.failover?.ok, `failover: ${JSON.stringify(result.checks.failover)}`);
    t.ok(result.ok, 'every check passed');
  } else {
    t.match(result.missing.join('\n'), /failover not checked/, 'reports the failover unchecked');
    t.equal(result.ok, false, 'not green while parts are missing');
  }
  t.same(
    await namespacePids(ns),
    [],
    "Mininet's net.stop() and the scenario left no process in the namespace",
  );
});
