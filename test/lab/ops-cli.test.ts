// The ops CLI against a small fake controller/agent HTTP server: request shapes, token from
// env/flag/config file, table and --json output, unix sockets, and clear errors (unreachable,
// 401, 404, bad arguments).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { main } from '../../topology/cli.js';

const TOKEN = 'tok-123';
const dir = mkdtempSync(join(tmpdir(), 'nonstop-opscli-'));
const requests: { method: string; url: string; auth?: string; body: unknown }[] = [];

const report = {
  id: 1,
  trigger: { kind: 'manual', forced: false, reason: 'POST /v1/failover' },
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 42,
  takeoverMs: 30,
  outcome: 'completed',
  steps: [{ name: 'fence', ok: true, startMs: 0, durationMs: 3 }],
  connections: [
    {
      client: '10.0.0.11:40000',
      service: '10.0.0.10:80',
      outcome: 'restored',
      code: 'restored',
      reason: 'ok',
    },
  ],
  summary: { restored: 1, reset: 0, failed: 0 },
};

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => {
    raw += c;
  });
  req.on('end', () => {
    const body = raw ? JSON.parse(raw) : undefined;
    requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
    const send = (code: number, obj: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const mutating = req.method !== 'GET';
    if (mutating && req.headers.authorization !== `Bearer ${TOKEN}`)
      return send(401, { error: 'Unauthorized', message: 'missing or wrong bearer token' });
    const route = `${req.method} ${req.url}`;
    if (route === 'GET /health') return send(200, { status: 'ok' });
    if (route === 'GET /v1/switches')
      return send(200, [
        {
          dpid: '0000000000000001',
          address: '127.0.0.1:5555',
          connectedAt: 'now',
          nBuffers: 0,
          nTables: 254,
          ports: [
            {
              portNo: 1,
              name: 'client1',
              hwAddr: '02:00:00:00:00:01',
              adminDown: false,
              linkDown: false,
              currSpeedKbps: 10000000,
            },
          ],
        },
      ]);
    if (route === 'GET /v1/switches/0000000000000001')
      return send(200, {
        dpid: '0000000000000001',
        ports: [
          {
            portNo: 3,
            name: 'service',
            hwAddr: '02:00:00:00:00:10',
            adminDown: true,
            linkDown: false,
            currSpeedKbps: 0,
          },
        ],
      });
    if (route === 'GET /v1/switches/00000000000000ff')
      return send(404, { error: 'Not Found', message: 'unknown switch 00000000000000ff' });
    if (route === 'GET /v1/switches/0000000000000001/flows')
      return send(200, [
        {
          tableId: 0,
          priority: 100,
          cookie: '0x1',
          packetCount: '5',
          byteCount: '300',
          durationSec: 1,
          idleTimeout: 0,
          hardTimeout: 0,
          match: { in_port: '3' },
          actions: ['output:1', 'output:4'],
        },
      ]);
    if (route === 'GET /v1/mirrors')
      return send(200, [
        { id: 'm1', dpid: '0000000000000001', sourcePort: 3, targetPort: 4, createdAt: 'now' },
      ]);
    if (route === 'POST /v1/mirrors') return send(201, { id: 'm2', ...body, createdAt: 'now' });
    if (route === 'DELETE /v1/mirrors/m2') return send(200, { deleted: 'm2' });
    if (route === 'DELETE /v1/mirrors/nope')
      return send(404, { error: 'Not Found', message: 'unknown mirror nope' });
    if (route === 'POST /v1/switches/0000000000000001/ports/3/state') return send(200, { ok: true });
    if (route === 'POST /v1/switches/0000000000000001/tcp-reset')
      return send(200, { outPort: 1, frameHex: '00' });
    if (route === 'GET /v1/status')
      return send(200, { role: 'standby', state: 'standby', service: '10.0.0.10:80', connections: 2 });
    if (route === 'GET /v1/connections')
      return send(200, {
        connections: [
          {
            client: '10.0.0.11:40000',
            server: '10.0.0.10:80',
            state: 'ESTABLISHED',
            protocol: 'http',
            restorable: true,
          },
        ],
      });
    if (route === 'POST /v1/failover') return send(200, report);
    if (route === 'GET /v1/failovers/last') return send(200, report);
    send(404, { error: 'Not Found', message: `no route ${route}` });
  });
});

let base = '';
const sock = join(dir, 'api.sock');
const unixServer = http.createServer((req, res) => server.emit('request', req, res));
t.before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise<void>((r) => unixServer.listen(sock, r));
});
t.teardown(() => {
  server.close();
  unixServer.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the CLI's main() in this process (a subprocess per call costs seconds under tsx) with
 * its stdout/stderr captured and the environment set for the call; one test below also runs the
 * real entry point as a subprocess.
 */
let queue: Promise<unknown> = Promise.resolve();
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const runOne = async () => {
    const vars: Record<string, string> = {
      NONSTOP_CONTROLLER_URL: base,
      NONSTOP_AGENT_URL: base,
      NONSTOP_API_TOKEN: TOKEN,
      NONSTOP_CONFIG: join(dir, 'none.json'),
      ...env,
    };
    const saved: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(vars)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    let stdout = '';
    let stderr = '';
    const outWrite = process.stdout.write;
    const errWrite = process.stderr.write;
    process.stdout.write = ((c: string | Uint8Array) => {
      stdout += String(c);
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((c: string | Uint8Array) => {
      stderr += String(c);
      return true;
    }) as typeof process.stderr.write;
    try {
      const code = await main(args);
      return { code, stdout, stderr };
    } finally {
      process.stdout.write = outWrite;
      process.stderr.write = errWrite;
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };
  const p = queue.then(runOne, runOne);
  queue = p.catch(() => {});
  return p;
}

t.test('the real entry point runs as a program', async (t) => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'topology/cli.ts', 'switches', '--json'],
      {
        env: { ...process.env, NONSTOP_CONTROLLER_URL: base, NONSTOP_CONFIG: join(dir, 'none.json') },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  t.equal(r.code, 0, r.stderr);
  t.equal(JSON.parse(r.stdout)[0].dpid, '0000000000000001');
  const bad = await new Promise<number>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'topology/cli.ts', 'nope'], { timeout: 30_000 }, (err) =>
      resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
    );
  });
  t.equal(bad, 2, 'exit code 2 for usage errors');
});

t.test('help everywhere', async (t) => {
  const top = await cli(['--help']);
  t.equal(top.code, 0);
  t.match(top.stdout, /switches/);
  t.match(top.stdout, /connections/);
  for (const c of [
    'switches',
    'ports',
    'mirrors',
    'port',
    'tcp-reset',
    'failover',
    'last-failover',
    'lab',
    'demo',
  ]) {
    const r = await cli([c, '--help']);
    t.equal(r.code, 0, `${c} --help`);
    t.match(r.stdout, /usage/i, `${c} --help prints usage`);
  }
  const bad = await cli(['frobnicate']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /unknown command "frobnicate"/);
});

t.test('read commands: tables and --json', async (t) => {
  const sw = await cli(['switches']);
  t.equal(sw.code, 0, sw.stderr);
  t.match(sw.stdout, /dpid\s+address/);
  t.match(sw.stdout, /0000000000000001\s+127\.0\.0\.1:5555/);
  const swJson = await cli(['switches', '--json']);
  t.equal(JSON.parse(swJson.stdout)[0].dpid, '0000000000000001');
  const ports = await cli(['ports', '1']);
  t.match(
    ports.stdout,
    /3\s+service\s+02:00:00:00:00:10\s+down\s+up/,
    'dpid 1 padded to 16 digits; admin down shown',
  );
  const flows = await cli(['flows', '0000000000000001']);
  t.match(flows.stdout, /in_port=3\s+output:1,output:4/);
  const mirrors = await cli(['mirrors']);
  t.match(mirrors.stdout, /m1\s+0000000000000001\s+3\s+4/);
  const conns = await cli(['connections']);
  t.match(conns.stdout, /1 connection/);
  t.match(conns.stdout, /10\.0\.0\.11:40000\s+10\.0\.0\.10:80\s+ESTABLISHED/);
  const status = await cli(['agent', 'status']);
  t.match(status.stdout, /state: standby/);
  const last = await cli(['last-failover']);
  t.match(last.stdout, /failover #1: completed, 42 ms total/);
  t.match(last.stdout, /1 restored, 0 reset, 0 failed/);
});

t.test('mutating commands send the right requests with the token', async (t) => {
  requests.length = 0;
  t.equal((await cli(['mirrors', 'add', '1', '3', '4'])).code, 0);
  t.same(requests.at(-1), {
    method: 'POST',
    url: '/v1/mirrors',
    auth: `Bearer ${TOKEN}`,
    body: { dpid: '0000000000000001', sourcePort: 3, targetPort: 4 },
  });
  t.equal((await cli(['mirrors', 'rm', 'm2'])).code, 0);
  t.match(requests.at(-1), { method: 'DELETE', url: '/v1/mirrors/m2' });
  const bounce = await cli(['port', 'bounce', '1', '3', '--duration-ms', '500']);
  t.equal(bounce.code, 0, bounce.stderr);
  t.same(requests.at(-1)?.body, { state: 'bounce', durationMs: 500 });
  const rst = await cli([
    'tcp-reset',
    '1',
    '--src-ip',
    '10.0.0.10',
    '--src-port',
    '80',
    '--dst-ip',
    '10.0.0.11',
    '--dst-port',
    '40000',
    '--seq',
    '4294967295',
  ]);
  t.equal(rst.code, 0, rst.stderr);
  t.same(requests.at(-1)?.body, {
    srcIp: '10.0.0.10',
    srcPort: 80,
    dstIp: '10.0.0.11',
    dstPort: 40000,
    seq: 4294967295,
  });
  t.match(rst.stdout, /out of port 1/);
  const fo = await cli(['failover', '--force']);
  t.equal(fo.code, 0);
  t.same(requests.at(-1)?.body, { force: true });
  t.match(fo.stdout, /10\.0\.0\.11:40000\s+10\.0\.0\.10:80\s+restored/);
});

t.test('token from flag and config file; unix sockets', async (t) => {
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ token: TOKEN, controllerUrl: `unix:${sock}` }));
  requests.length = 0;
  const viaFile = await cli(['mirrors', 'add', '1', '3', '4'], {
    NONSTOP_API_TOKEN: '',
    NONSTOP_CONFIG: cfg,
    NONSTOP_CONTROLLER_URL: '',
  });
  t.equal(viaFile.code, 0, viaFile.stderr);
  t.equal(
    requests.at(-1)?.auth,
    `Bearer ${TOKEN}`,
    'token from the config file, over the unix socket from the config file',
  );
  const viaFlag = await cli(['--token', TOKEN, '--controller', `unix:${sock}`, 'port', 'down', '1', '3'], {
    NONSTOP_API_TOKEN: '',
  });
  t.equal(viaFlag.code, 0, viaFlag.stderr);
});

t.test('clear errors', async (t) => {
  const noAuth = await cli(['mirrors', 'add', '1', '3', '4'], { NONSTOP_API_TOKEN: '' });
  t.equal(noAuth.code, 1);
  t.match(noAuth.stderr, /401 unauthorized.*NONSTOP_API_TOKEN/);
  const missing = await cli(['ports', 'ff']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /404 not found: unknown switch 00000000000000ff/);
  const missingJson = await cli(['mirrors', 'rm', 'nope', '--json']);
  t.equal(JSON.parse(missingJson.stdout).error, 'not-found');
  const down = await cli(['switches'], { NONSTOP_CONTROLLER_URL: 'http://127.0.0.1:1' });
  t.equal(down.code, 1);
  t.match(down.stderr, /cannot reach the controller at http:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
  const noSock = await cli(['agent', 'status'], { NONSTOP_AGENT_URL: `unix:${join(dir, 'missing.sock')}` });
  t.match(noSock.stderr, /cannot reach the agent .*ENOENT/);
  const badArgs = await cli(['port', 'sideways', '1', '3']);
  t.equal(badArgs.code, 2);
  t.match(badArgs.stderr, /port state must be down, up or bounce/);
  const badDpid = await cli(['flows', 'xyz']);
  t.match(badDpid.stderr, /bad datapath id "xyz"/);
  const badSeq = await cli([
    'tcp-reset',
    '1',
    '--src-ip',
    '10.0.0.10',
    '--src-port',
    '80',
    '--dst-ip',
    '10.0.0.11',
    '--dst-port',
    '1',
    '--seq',
    '-1',
  ]);
  t.equal(badSeq.code, 2);
  const badOpt = await cli(['switches', '--frob']);
  t.equal(badOpt.code, 2);
  t.match(badOpt.stderr, /Unknown option '--frob'/);
});
