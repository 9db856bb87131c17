// The agent's and the controller's modules load compiled in full and keep their bytecode
// (controller/eager-compile.ts): a function of the failover path, and one generated with
// `new Function` as fastify makes its validators, first called after garbage collections that
// drop idle bytecode, are not compiled then. The controls show what the flags prevent.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const probe = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'eager-compile-probe.ts');

/** V8's compile events, after the probe's marker ran, of currentTsVal (a module's function) and
 *  of generatedInner (made by `new Function`) */
function compilesAtFirstCall(mode: string): { module: string[]; generated: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-eager-'));
  try {
    // without tap's coverage: V8 keeps all bytecode while it collects precise coverage
    const env = { ...process.env };
    delete env.NODE_V8_COVERAGE;
    delete env.NODE_OPTIONS;
    const r = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--stress-flush-code',
        '--log-function-events',
        // one log per isolate: tsx's module hooks run in an isolate of their own, and two
        // isolates writing one file lost lines
        `--logfile=${join(dir, 'v8.log')}`,
        '--import',
        'tsx',
        probe,
        mode,
      ],
      { encoding: 'utf8', timeout: 60_000, env },
    );
    if (r.status !== 0) throw new Error(`probe ${mode} exited ${r.status}: ${r.stderr}`);
    // the TSval the restored socket would send (1 + 5 ms elapsed + the margin), then 1 + 1
    if (!/^2006 2\n$/.test(r.stdout)) throw new Error(`probe ${mode} printed ${JSON.stringify(r.stdout)}`);
    // "function,EVENT,script,start,end,ms,time,name", in the main isolate's log
    const events = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .filter((text) => text.includes(',probeMarker\n'))
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('function,'))
      .map((l) => l.split(','));
    const marker = events.findIndex((e) => e[1] === 'first-execution' && e[7] === 'probeMarker');
    if (marker < 0) throw new Error(`probe ${mode}: no marker in V8's log`);
    const compiles = (name: string) =>
      events
        .slice(marker)
        .filter((e) => e[7] === name && /^(full-parse|parse-function|interpreter)$/.test(e[1]))
        .map((e) => e[1]);
    return { module: compiles('currentTsVal'), generated: compiles('generatedInner') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test(
  'loaded as the agent and the controller load their modules: compiled before the first call, kept across GCs',
  async (t) => {
    t.same(compilesAtFirstCall('eager'), { module: [], generated: [] });
  },
);

t.test('control: a plain import compiles each function at its first call', async (t) => {
  const c = compilesAtFirstCall('plain');
  t.ok(c.module.includes('interpreter'), 'the module function');
  t.ok(c.generated.includes('interpreter'), 'the generated function');
});

t.test('control: compiled in full at load, but the GCs dropped the bytecode', async (t) => {
  t.ok(compilesAtFirstCall('eager-flushing').module.includes('interpreter'));
});
