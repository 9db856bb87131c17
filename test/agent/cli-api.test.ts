// nonstop-agent as a process (offline --read, usage errors) and its REST API (inject).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import t from 'tap';
import { Agent } from '../../standby-agent/agent.js';
import { buildAgentApi } from '../../standby-agent/api/server.js';
import { fixturePath, SERVICE } from '../fixtures/crafted/make.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'standby-agent/cli.ts');
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: root,
    env: { ...process.env, NONSTOP_API_TOKEN: '' },
    encoding: 'utf8',
    timeout: 60000,
  });

t.test('--help', async (t) => {
  const r = run(['--help']);
  t.equal(r.status, 0);
  t.match(r.stdout, /Usage: nonstop-agent/);
  t.match(r.stdout, /--read FILE\.pcap/);
});

t.test('bad flags exit 2 with a clear message', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--read', fixturePath('midstream')], /--service IP:PORT is required/],
    [['--read', fixturePath('midstream'), '--service', '10.0.0.10'], /--service: expected IP:PORT/],
    [['--read', fixturePath('midstream'), '--service', 'nohost:80'], /--service: expected IP:PORT/],
    [['--service', '10.0.0.10:80'], /exactly one of --iface and --read/],
    [['--read', '/nonexistent.pcap', '--service', '10.0.0.10:80'], /no such file/],
    [['--read', fixturePath('midstream'), '--service', '10.0.0.10:80', '--protocol', '80=ftp'], /--protocol/],
    [['--read', fixturePath('midstream'), '--service', '10.0.0.10:80', '--bogus'], /bogus/],
    [
      ['--read', fixturePath('midstream'), '--service', '10.0.0.10:80', '--api-listen', 'nope'],
      /--api-listen/,
    ],
  ];
  for (const [args, msg] of cases) {
    const r = run(args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr, msg);
  }
});

t.test('--read prints the table with verdicts', async (t) => {
  const r = run(['--read', fixturePath('handshake-http'), '--service', '10.0.0.10:80']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /10\.0\.0\.1:40001\s+10\.0\.0\.10:80\s+ESTABLISHED\s+http\s+2\s+restorable/);
  const m = run(['--read', fixturePath('midstream'), '--service', '10.0.0.10:80']);
  t.match(m.stdout, /not restorable: picked up mid-stream/);
});

t.test('--read --json is machine-readable; --protocol overrides the analyzer', async (t) => {
  const r = run(['--read', fixturePath('handshake-http'), '--service', '10.0.0.10:80', '--json']);
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.equal(out.status.frames, 7);
  t.equal(out.status.table.size, 1);
  t.equal(out.connections[0].restorable, true);
  t.equal(out.connections[0].bytesToServer, 56);
  const g = JSON.parse(
    run([
      '--read',
      fixturePath('handshake-http'),
      '--service',
      '10.0.0.10:80',
      '--json',
      '--protocol',
      '80=generic',
    ]).stdout,
  );
  t.equal(g.connections[0].protocol, 'generic');
  t.equal(g.connections[0].code, 'not-analysable');
});

t.test('--read of a file that is not a pcap fails cleanly', async (t) => {
  const r = run(['--read', cli, '--service', '10.0.0.10:80']);
  t.equal(r.status, 1);
  t.match(r.stderr, /nonstop-agent: .*cli\.ts: /);
});

t.test('REST API: health, status, connections, metrics, openapi', async (t) => {
  const registry = new Registry();
  const agent = new Agent({ services: [SERVICE], registry }, (tsMs) => tsMs);
  agent.readPcap(fixturePath('handshake-http'));
  agent.readPcap(fixturePath('midstream'));
  const app = await buildAgentApi({ agent, registry, token: 'sekret' });
  t.teardown(() => app.close());

  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });

  const status = (await app.inject({ method: 'GET', url: '/v1/status' })).json();
  t.equal(status.role, 'standby');
  t.equal(status.frames, 10);
  t.equal(status.table.size, 2);
  t.equal(status.table.created, 2);

  const conns = (await app.inject({ method: 'GET', url: '/v1/connections' })).json();
  t.equal(conns.length, 2);
  const byClient = Object.fromEntries(conns.map((c: { client: string }) => [c.client, c]));
  t.equal(byClient['10.0.0.1:40001'].restorable, true);
  t.equal(byClient['10.0.0.1:40001'].state, 'ESTABLISHED');
  t.equal(byClient['10.0.0.1:40002'].restorable, false);
  t.equal(byClient['10.0.0.1:40002'].code, 'handshake-not-seen');

  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.match(metrics.body, /nonstop_agent_connections 2/);
  t.match(metrics.body, /nonstop_agent_frames_total 10/);

  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  t.ok(spec.paths['/v1/connections'], 'documented');
  t.ok(spec.paths['/v1/status']);

  const denied = await app.inject({ method: 'POST', url: '/v1/connections' });
  t.equal(denied.statusCode, 401, 'mutating calls need the token');
});
