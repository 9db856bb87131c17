// The REST API in front of the real controller and a real Open vSwitch: every mutating route
// is driven over HTTP (on a unix socket, as the lab reaches it) and checked against what OVS
// itself reports; the event stream sees the switch's port-status messages.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildApi } from '../../controller/api/server.js';
import type { ControllerEvent } from '../../controller/facade.js';
import { waitFor } from '../../topology/lab/index.js';
import { createTestLab } from '../helpers/lab.js';
import { controllerFor, portConfig, quietLogger } from './helpers.js';

const DPID = '00000000000000e7';
const TOKEN = 'e2e-secret';

interface Answer {
  status: number;
  body: unknown;
  text: string;
}

function call(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  token = TOKEN,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Subscribes to /v1/events and collects the parsed `data:` payloads. */
function subscribe(socketPath: string): Promise<{ events: ControllerEvent[]; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: ControllerEvent[] = [];
    const req = request({ socketPath, path: '/v1/events' }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)) as ControllerEvent);
          end = buf.indexOf('\n\n');
        }
      });
      resolve({ events, close: () => req.destroy() });
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    req.end();
  });
}

t.test('REST API drives the real controller and OVS', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: DPID });
  const client = await lab.addHost('cli', { sw, ofport: 1, ip: '10.0.7.1/24', mac: '02:00:00:00:07:01' });
  const service = await lab.addHost('svc', { sw, ofport: 2, ip: '10.0.7.2/24', mac: '02:00:00:00:07:02' });
  const standby = await lab.addHost('stb', { sw, ofport: 3, ip: '10.0.7.3/24', mac: '02:00:00:00:07:03' });
  const { Registry } = await import('prom-client');
  const registry = new Registry();
  const controller = await controllerFor(sw, { registry }, t);
  const api = await buildApi({ controller, registry, token: TOKEN, logger: quietLogger() });
  const sock = join(lab.dir, 'api.sock');
  await api.listen({ path: sock });
  t.teardown(() => api.close());
  const stream = await subscribe(sock);
  t.teardown(() => stream.close());

  // reads
  const health = await call(sock, 'GET', '/health');
  t.same(health.body, { status: 'ok', switches: 1 }, '/health counts the connected switch');
  const list = await call(sock, 'GET', '/v1/switches');
  t.same(
    (list.body as { dpid: string }[]).map((s) => s.dpid),
    [DPID],
    '/v1/switches lists the real switch',
  );
  const one = await call(sock, 'GET', `/v1/switches/${DPID}`);
  t.equal(one.status, 200);
  const ports = (one.body as { ports: { portNo: number; adminDown: boolean; name: string }[] }).ports;
  t.same(
    ports
      .map((p) => p.portNo)
      .filter((n) => n < 0xff00)
      .sort(),
    [1, 2, 3],
    'ports as OVS reports them',
  );
  t.equal((await call(sock, 'GET', '/v1/switches/00000000000000ff')).status, 404, 'unknown switch: 404');
  t.equal((await call(sock, 'GET', '/v1/switches/E7')).status, 400, 'malformed dpid: 400');

  await client.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', service.ip]);
  const flows = await call(sock, 'GET', `/v1/switches/${DPID}/flows`);
  t.equal(flows.status, 200);
  t.ok(
    (flows.body as { match: Record<string, string>; actions: string[] }[]).some(
      (f) => f.match.eth_dst === '02:00:00:00:07:02' && f.actions.some((a) => a.includes('output:2')),
    ),
    'flow stats through the API show the learnt flow towards the service',
  );

  // mirrors
  const body = { dpid: DPID, sourcePort: 2, targetPort: 3 };
  t.equal((await call(sock, 'POST', '/v1/mirrors', body, '')).status, 401, 'no token: 401');
  t.equal((await call(sock, 'POST', '/v1/mirrors', body, 'wrong')).status, 401, 'wrong token: 401');
  t.equal((await call(sock, 'GET', '/v1/mirrors')).text, '[]', 'nothing was mirrored by the refused calls');
  t.equal(
    (await call(sock, 'POST', '/v1/mirrors', { ...body, targetPort: 9 })).status,
    404,
    'unknown port: 404',
  );
  const bad = await call(sock, 'POST', '/v1/mirrors', { ...body, targetPort: 2 });
  t.equal(bad.status, 400, 'same source and target: 400');
  const created = await call(sock, 'POST', '/v1/mirrors', body);
  t.equal(created.status, 201);
  const mirror = created.body as { id: string };
  t.match(mirror, { id: String, ...body });
  t.ok(
    (await sw.dumpFlows('table=0')).some((l) => /in_port=2 actions=output:3,goto_table:1/.test(l)),
    'OVS has the ingress mirror flow once POST answered',
  );
  t.same(
    ((await call(sock, 'GET', '/v1/mirrors')).body as { id: string }[]).map((m) => m.id),
    [mirror.id],
  );
  t.equal((await call(sock, 'DELETE', `/v1/mirrors/${mirror.id}`, undefined, '')).status, 401);
  t.equal((await call(sock, 'DELETE', `/v1/mirrors/${mirror.id}`)).status, 204);
  t.equal((await call(sock, 'DELETE', `/v1/mirrors/${mirror.id}`)).status, 404, 'deleted twice: 404');
  t.notOk(
    (await sw.dumpFlows('table=0')).some((l) => /output:3,goto_table:1/.test(l)),
    'the mirror flow is gone from OVS',
  );

  // port state (the fence), with its port-status event on the SSE stream
  const down = await call(sock, 'POST', `/v1/switches/${DPID}/ports/2/state`, { state: 'down' });
  t.equal(down.status, 200);
  t.equal((down.body as { adminDown: boolean }).adminDown, true);
  t.match(portConfig(await sw.ofctl('dump-ports-desc'), 2), /PORT_DOWN/, 'OVS reports PORT_DOWN');
  await waitFor(
    'port-status event on /v1/events',
    async () =>
      stream.events.some((e) => e.type === 'port-status' && e.port.portNo === 2 && e.port.adminDown),
    5000,
  );
  t.pass('the event stream carried the port going down');
  await t.rejects(
    client.exec('ping', ['-c', '1', '-W', '1', service.ip]),
    'traffic to the fenced port stops',
  );
  const up = await call(sock, 'POST', `/v1/switches/${DPID}/ports/2/state`, { state: 'up' });
  t.equal((up.body as { adminDown: boolean }).adminDown, false);
  t.notMatch(portConfig(await sw.ofctl('dump-ports-desc'), 2), /PORT_DOWN/, 'up again in OVS');
  await client.exec('ping', ['-c', '1', '-W', '3', service.ip]);
  t.equal(
    (await call(sock, 'POST', `/v1/switches/${DPID}/ports/77/state`, { state: 'down' })).status,
    404,
    'unknown port: 404',
  );
  t.equal(
    (await call(sock, 'POST', `/v1/switches/${DPID}/ports/2/state`, { state: 'sideways' })).status,
    400,
    'unknown state: 400',
  );

  // redirects
  const rd = await call(sock, 'POST', '/v1/redirects', {
    dpid: DPID,
    ip: service.ip,
    fromPort: 2,
    toPort: 3,
    toMac: '02:00:00:00:07:03',
  });
  t.equal(rd.status, 201);
  const redirect = rd.body as { id: string };
  t.ok(
    (await sw.dumpFlows()).some((l) =>
      /nw_dst=10\.0\.7\.2 actions=set_field:02:00:00:00:07:03->eth_dst,output:3/.test(l),
    ),
    'OVS has the rewrite-and-output flow once POST answered',
  );
  t.same(
    ((await call(sock, 'GET', '/v1/redirects')).body as { id: string }[]).map((r) => r.id),
    [redirect.id],
  );
  t.equal((await call(sock, 'DELETE', `/v1/redirects/${redirect.id}`)).status, 204);
  t.notOk(
    (await sw.dumpFlows()).some((l) => l.includes('set_field:02:00:00:00:07:03->eth_dst')),
    'the redirect flows are gone from OVS',
  );
  t.equal((await call(sock, 'DELETE', `/v1/redirects/${redirect.id}`)).status, 404);

  // tcp-reset: the RST is addressed to the MAC the controller learnt for dst
  const reset = {
    srcIp: client.ip,
    srcPort: 40000,
    dstIp: standby.ip,
    dstPort: 7000,
    seq: 12345,
    outPort: 3,
  };
  const early = await call(sock, 'POST', `/v1/switches/${DPID}/tcp-reset`, reset);
  t.equal(early.status, 400, "dst's MAC not learnt yet: 400");
  t.match(early.body, { message: /not learnt/ });
  t.equal((await call(sock, 'POST', `/v1/switches/${DPID}/tcp-reset`, reset, '')).status, 401);
  t.equal(
    (await call(sock, 'POST', `/v1/switches/${DPID}/tcp-reset`, { ...reset, seq: -1 })).status,
    400,
    'negative seq: 400',
  );
  await standby.exec('ping', ['-c', '1', '-W', '3', client.ip]);
  const rst = await call(sock, 'POST', `/v1/switches/${DPID}/tcp-reset`, reset);
  t.equal(rst.status, 200);
  t.match(rst.body, { outPort: 3, frameHex: /^020000000703/ }, 'RST frame addressed to the standby host');

  // metrics: the controller's own and the API's request counter, from the same registry
  const metrics = await call(sock, 'GET', '/metrics');
  t.match(metrics.text, /nonstop_switches_connected 1/);
  t.match(metrics.text, /nonstop_flow_mods_total/);
  t.match(
    metrics.text,
    /nonstop_controller_http_requests_total\{method="POST",route="\/v1\/mirrors",status="401"\} 2/,
  );
});

t.test('nonstop-controller process serves a real switch through its API', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s2', { dpid: '00000000000000e8' });
  await lab.addHost('ha', { sw, ofport: 1, ip: '10.0.8.1/24', mac: '02:00:00:00:08:01' });
  await lab.addHost('hb', { sw, ofport: 2, ip: '10.0.8.2/24', mac: '02:00:00:00:08:02' });
  const sock = join(lab.dir, 'cli-api.sock');
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'controller/cli.ts'),
      '--of-listen',
      `unix:${sw.controllerSocket}`,
      '--api-listen',
      `unix:${sock}`,
      '--log-level',
      'warn',
    ],
    { cwd: root, env: { ...process.env, NONSTOP_API_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor(
    'the CLI answers /health',
    async () => (await call(sock, 'GET', '/health').catch(() => ({ status: 0 }))).status === 200,
    30_000,
  );
  await sw.setController([`unix:${sw.controllerSocket}`]);
  await waitFor(
    'the switch appears in /v1/switches',
    async () => ((await call(sock, 'GET', '/v1/switches')).body as unknown[]).length === 1,
    20_000,
  );
  const created = await call(sock, 'POST', '/v1/mirrors', {
    dpid: '00000000000000e8',
    sourcePort: 1,
    targetPort: 2,
  });
  t.equal(created.status, 201, 'mirror created through the CLI process (token from NONSTOP_API_TOKEN)');
  t.ok(
    (await sw.dumpFlows('table=0')).some((l) => /in_port=1 actions=output:2,goto_table:1/.test(l)),
    'OVS has the mirror flow',
  );
  child.kill('SIGTERM');
  t.equal(await exited, 0, `exit code 0 after SIGTERM ${stderr}`);
});
