// `nonstop demo` end to end on the real thing. With the controller and agent present it must be
// green (every restorable connection survived); without them it must say what is missing and
// fail. Either way it leaves nothing behind.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { findLeftovers, isEmpty } from '../../topology/lab/index.js';
import { labDown } from '../../topology/lab/runner.js';

const root = mkdtempSync(join(tmpdir(), 'nonstop-demostate-'));
t.teardown(async () => {
  await labDown('ha-basic', { stateRoot: root });
  rmSync(root, { recursive: true, force: true });
});

t.test('demo: clients, failure, report, cleanup', async (t) => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          'topology/cli.ts',
          'demo',
          '--json',
          '--before-ms',
          '1500',
          '--after-ms',
          '3000',
          '--state-dir',
          root,
        ],
        { timeout: 120_000, maxBuffer: 32 * 1024 * 1024 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    },
  );
  let result: {
    ok: boolean;
    prefix: string;
    requests: number;
    restored: number;
    restorable: number;
    restorableSurvived: number;
    missing: string[];
    problems: string[];
    connections: { before: number; outcome: string; servedBy: string[] }[];
  };
  try {
    result = JSON.parse(stdout);
  } catch {
    t.fail(`demo printed no JSON (exit ${code}): ${stdout.slice(0, 500)} ${stderr.slice(-2000)}`);
    return;
  }
  t.equal(result.connections.length, 4, 'two clients with two connections each');
  t.ok(
    result.connections.every((c) => c.before > 0 && c.servedBy[0] === 'service'),
    'the service answered before it died',
  );
  const complete = existsSync('controller/cli.ts') && existsSync('standby-agent/cli.ts');
  if (complete) {
    t.equal(code, 0, `demo is green: ${result.problems.join('; ')}`);
    t.ok(result.ok);
    t.ok(result.restored > 0, 'the agent restored connections');
    t.equal(result.restorableSurvived, result.restorable, 'every restorable connection survived');
    t.ok(
      result.connections.some((c) => c.outcome === 'survived' && c.servedBy.includes('standby')),
      'the standby served requests on surviving connections',
    );
  } else {
    t.equal(code, 1, 'without the controller or agent the demo fails');
    t.notOk(result.ok);
    t.ok(result.missing.length > 0, `it says what is missing: ${result.missing.join('; ')}`);
  }
  t.ok(isEmpty(await findLeftovers(result.prefix)), 'the demo removed everything it built');
});
