// Live capture on a real interface: two namespaces joined by a veth, a node HTTP server in one,
// a keep-alive client in the other; the agent CLI captures (libpcap) inside the service
// namespace and its API, on a unix socket, must show the real exchange, tracked and restorable.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const id = randomBytes(3).toString('hex');
const NS_SVC = `h3${id}s`;
const NS_CLI = `h3${id}c`;
const V_SVC = `h3${id}s0`;
const V_CLI = `h3${id}c0`;
const SVC_IP = '10.203.7.10';
const CLI_IP = '10.203.7.1';
const dir = mkdtempSync(join(tmpdir(), 'nonstop-live-'));
const sock = join(dir, 'agent.sock');
const procs: ChildProcess[] = [];

/** `ip` arguments that run a TypeScript file of this repository inside a namespace. */
const tsxInNs = (ns: string, file: string) => [
  'netns',
  'exec',
  ns,
  process.execPath,
  '--import',
  'tsx',
  join(root, file),
];
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' });
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* already gone */
  }
};

function cleanup() {
  for (const p of procs) if (p.pid && p.exitCode === null) quiet('kill', ['-9', String(p.pid)]);
  quiet('ip', ['netns', 'del', NS_SVC]);
  quiet('ip', ['netns', 'del', NS_CLI]);
  rmSync(dir, { recursive: true, force: true });
}
process.once('exit', cleanup);

function getUnix(path: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    http
      .get({ socketPath: sock, path }, (r) => {
        let body = '';
        r.on('data', (c) => {
          body += c;
        });
        r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      })
      .on('error', rej);
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.teardown(cleanup);

t.test('live capture on a veth sees a real HTTP keep-alive exchange', async (t) => {
  sh('ip', ['netns', 'add', NS_SVC]);
  sh('ip', ['netns', 'add', NS_CLI]);
  sh('ip', ['link', 'add', V_SVC, 'type', 'veth', 'peer', 'name', V_CLI]);
  sh('ip', ['link', 'set', V_SVC, 'netns', NS_SVC]);
  sh('ip', ['link', 'set', V_CLI, 'netns', NS_CLI]);
  sh('ip', ['-n', NS_SVC, 'addr', 'add', `${SVC_IP}/24`, 'dev', V_SVC]);
  sh('ip', ['-n', NS_CLI, 'addr', 'add', `${CLI_IP}/24`, 'dev', V_CLI]);
  for (const [ns, dev] of [
    [NS_SVC, V_SVC],
    [NS_CLI, V_CLI],
  ]) {
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  const server = join(dir, 'server.cjs');
  writeFileSync(
    server,
    `require('http').createServer((q, s) => s.end('hello from the service\\n')).listen(8080, '${SVC_IP}', () => console.log('listening'));`,
  );
  const srv = spawn('ip', ['netns', 'exec', NS_SVC, process.execPath, server], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(srv);

  const agent = spawn(
    'ip',
    [
      ...tsxInNs(NS_SVC, 'standby-agent/cli.ts'),
      '--iface',
      V_SVC,
      '--service',
      `${SVC_IP}:8080`,
      '--protocol',
      '8080=http',
      '--api-listen',
      `unix:${sock}`,
      '--log-level',
      'warn',
    ],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NONSTOP_API_TOKEN: '' } },
  );
  procs.push(agent);
  await until('the agent API', async () =>
    existsSync(sock) ? (await getUnix('/health')).status === 200 || undefined : undefined,
  );
  const before = JSON.parse((await getUnix('/v1/status')).body);
  t.equal(before.capture.iface, V_SVC);

  // A keep-alive client: one answered request, then an idle open connection.
  const client = join(dir, 'client.cjs');
  writeFileSync(
    client,
    `const net = require('net');
const s = net.connect({ host: '${SVC_IP}', port: 8080, localAddress: '${CLI_IP}' }, () => {
  s.write('GET /one HTTP/1.1\\r\\nHost: svc\\r\\n\\r\\n');
});
s.on('data', (d) => { if (String(d).includes('hello from the service')) console.log('answered ' + s.localPort); });
setTimeout(() => s.end(), 60000);`,
  );
  const cli = spawn('ip', ['netns', 'exec', NS_CLI, process.execPath, client], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(cli);
  const port = await until('the reply', async () => {
    const m = /answered (\d+)/.exec(String(cli.stdout?.read() ?? ''));
    return m ? Number(m[1]) : undefined;
  });

  type Row = { client: string; state: string; restorable: boolean; reason?: string; exchanges: number };
  const row = await until('the tracked connection', async () => {
    const rows: Row[] = JSON.parse((await getUnix('/v1/connections')).body);
    const r = rows.find((x) => x.client === `${CLI_IP}:${port}`);
    // the client's ACK of the reply completes the exchange
    return r && r.exchanges === 1 && r.restorable ? r : undefined;
  });
  t.equal(row.state, 'ESTABLISHED');
  t.equal(row.restorable, true, row.reason ?? 'restorable');

  const status = JSON.parse((await getUnix('/v1/status')).body);
  t.ok(status.frames >= 5, `captured ${status.frames} frames`);
  t.equal(status.agentErrors, 0);
  t.equal(status.table.size, 1);
  t.equal(status.capture.kernelDrops ?? 0, 0);
  const metrics = await getUnix('/metrics');
  t.match(metrics.body, /nonstop_agent_connections 1/);

  agent.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => agent.once('exit', r));
  t.equal(code, 0, 'clean shutdown on SIGTERM');
});

t.test("a standby's capture leaves its own frames out, but mirror copies and barrier echoes", async (t) => {
  const out = execFileSync(
    'ip',
    [...tsxInNs(NS_SVC, 'test/agent/fixtures/own-frames-probe.ts'), V_SVC, SVC_IP, '8080'],
    { cwd: root, encoding: 'utf8', timeout: 30_000 },
  );
  const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { seen: number[] };
  t.same(r.seen, [4, 5], 'of the five frames, the mirror copy (4) and the echo (5)');
});

t.test(
  'a capture barrier: the marker goes through libpcap, untracked; without an echo it does not pass',
  async (t) => {
    const out = execFileSync(
      'ip',
      [...tsxInNs(NS_SVC, 'test/agent/fixtures/barrier-probe.ts'), V_SVC, SVC_IP, '8080'],
      { cwd: root, encoding: 'utf8', timeout: 30_000 },
    );
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      results: Array<{ ok: boolean; ms: number; error?: string }>;
      frames: number;
      tracked: number;
      stopped: { ok: boolean; error?: string };
    };
    t.equal(r.results.length, 5);
    // no switch here to send them back: each marker's own copy came through libpcap, no echo
    t.ok(
      r.results.every((x) => !x.ok && /did not send the marker back/.test(x.error ?? '')),
      `no barrier passed without an echo: ${JSON.stringify(r.results[0])}`,
    );
    t.ok(r.frames >= 5, 'the markers went through the pipeline');
    t.equal(r.tracked, 0, 'no connection was made of them');
    t.same(r.stopped, { ok: false, ms: 0, error: 'not capturing' }, 'no capture: said at once, no wait');
  },
);
