// The REST API against a fake ControllerFacade: every route, its error paths, the OpenAPI
// document, server-sent events and metrics. The real controller is covered by the e2e tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import pino from 'pino';
import t, { type Test } from 'tap';
import { buildApi } from '../../controller/api/server.js';
import { ControllerClient } from '../../standby-agent/failover/controller-client.js';
import {
  type ControllerEvent,
  type ControllerFacade,
  InvalidRequestError,
  type Mirror,
  NotFoundError,
  type Redirect,
  SwitchError,
  type SwitchInfo,
} from '../../controller/facade.js';

const DPID = '0000000000000001';
const TOKEN = 's3cret';
const auth = { authorization: `Bearer ${TOKEN}` };

class FakeController implements ControllerFacade {
  calls: string[] = [];
  mirrors: Mirror[] = [];
  redirects: Redirect[] = [];
  listeners = new Set<(e: ControllerEvent) => void>();
  sw: SwitchInfo = {
    dpid: DPID,
    address: '10.0.0.1:5555',
    connectedAt: new Date(0).toISOString(),
    nBuffers: 0,
    nTables: 254,
    ports: [1, 2, 3].map((n) => ({
      portNo: n,
      name: `p${n}`,
      hwAddr: `02:00:00:00:00:0${n}`,
      adminDown: false,
      linkDown: false,
      currSpeedKbps: 10000000,
    })),
  };
  private known(dpid: string) {
    if (dpid !== DPID) throw new NotFoundError('switch', dpid);
  }
  private port(n: number) {
    const p = this.sw.ports.find((x) => x.portNo === n);
    if (!p) throw new NotFoundError('port', String(n));
    return p;
  }
  listSwitches() {
    return [this.sw];
  }
  getSwitch(dpid: string) {
    this.known(dpid);
    return this.sw;
  }
  async getFlows(dpid: string) {
    this.known(dpid);
    return [
      {
        tableId: 0,
        priority: 0,
        cookie: '0x0',
        packetCount: '5',
        byteCount: '300',
        durationSec: 1,
        idleTimeout: 0,
        hardTimeout: 0,
        match: {},
        actions: ['CONTROLLER:65535'],
      },
    ];
  }
  listMirrors() {
    return this.mirrors;
  }
  async addMirror(spec: { dpid: string; sourcePort: number; targetPort: number; fenceOnLinkDown?: boolean }) {
    this.known(spec.dpid);
    this.port(spec.sourcePort);
    this.port(spec.targetPort);
    if (spec.sourcePort === spec.targetPort)
      throw new InvalidRequestError('source and target port are the same');
    const m = {
      ...spec,
      id: `m${this.mirrors.length + 1}`,
      createdAt: new Date().toISOString(),
      fenceOnLinkDown: spec.fenceOnLinkDown === true,
    };
    this.mirrors.push(m);
    return m;
  }
  async removeMirror(id: string) {
    const i = this.mirrors.findIndex((m) => m.id === id);
    if (i < 0) throw new NotFoundError('mirror', id);
    this.mirrors.splice(i, 1);
  }
  async tcpReset(dpid: string, spec: { seq: number; outPort?: number }) {
    this.known(dpid);
    this.calls.push(`rst seq=${spec.seq}`);
    return { outPort: spec.outPort ?? 2, frameHex: '00' };
  }
  async setPortState(dpid: string, portNo: number, state: string) {
    this.known(dpid);
    const p = this.port(portNo);
    if (portNo === 3)
      throw new SwitchError('switch refused PORT_MOD', dpid, {
        type: 'OFPET_PORT_MOD_FAILED',
        code: 'OFPPMFC_EPERM',
      });
    p.adminDown = state === 'down';
    return p;
  }
  listRedirects() {
    return this.redirects;
  }
  async addRedirect(spec: { dpid: string; ip: string; fromPort: number; toPort: number; toMac: string }) {
    this.known(spec.dpid);
    const r = { ...spec, id: `r${this.redirects.length + 1}`, createdAt: new Date().toISOString() };
    this.redirects.push(r);
    return r;
  }
  async removeRedirect(id: string) {
    const i = this.redirects.findIndex((r) => r.id === id);
    if (i < 0) throw new NotFoundError('redirect', id);
    this.redirects.splice(i, 1);
  }
  onEvent(l: (e: ControllerEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: ControllerEvent) {
    for (const l of this.listeners) l(e);
  }
}

async function setup(t: Test) {
  const controller = new FakeController();
  const registry = new Registry();
  const app = await buildApi({ controller, registry, token: TOKEN, eventHeartbeatMs: 50 });
  t.teardown(() => app.close());
  return { app, controller };
}

t.test('reads: health, switches, one switch, flows', async (t) => {
  const { app } = await setup(t);
  let r = await app.inject({ url: '/health' });
  t.equal(r.statusCode, 200);
  t.same(r.json(), { status: 'ok', switches: 1 });
  r = await app.inject({ url: '/v1/switches' });
  t.equal(r.json()[0].dpid, DPID);
  r = await app.inject({ url: `/v1/switches/${DPID}` });
  t.equal(r.json().ports.length, 3);
  t.equal(r.json().ports[0].adminDown, false);
  r = await app.inject({ url: `/v1/switches/${DPID}/flows` });
  t.same(r.json()[0].actions, ['CONTROLLER:65535']);
  r = await app.inject({ url: '/v1/switches/00000000000000ff' });
  t.equal(r.statusCode, 404, 'unknown switch');
  t.match(r.json().message, /unknown switch/);
  r = await app.inject({ url: '/v1/switches/xyz' });
  t.equal(r.statusCode, 400, 'malformed dpid');
});

t.test('mirrors: 401 without token, 400 bad body, 201, 404, delete', async (t) => {
  const { app } = await setup(t);
  const body = { dpid: DPID, sourcePort: 1, targetPort: 2 };
  let r = await app.inject({ method: 'POST', url: '/v1/mirrors', payload: body });
  t.equal(r.statusCode, 401, 'no token');
  r = await app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    payload: body,
    headers: { authorization: 'Bearer nope' },
  });
  t.equal(r.statusCode, 401, 'wrong token');
  r = await app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    payload: { dpid: DPID, sourcePort: 1 },
    headers: auth,
  });
  t.equal(r.statusCode, 400);
  t.match(r.json().message, /targetPort/);
  r = await app.inject({ method: 'POST', url: '/v1/mirrors', payload: { ...body, extra: 1 }, headers: auth });
  t.equal(r.statusCode, 400, 'unknown property refused');
  r = await app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    payload: { ...body, targetPort: 9 },
    headers: auth,
  });
  t.equal(r.statusCode, 404, 'unknown port');
  r = await app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    payload: { ...body, targetPort: 1 },
    headers: auth,
  });
  t.equal(r.statusCode, 400, 'same port');
  r = await app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    payload: { ...body, fenceOnLinkDown: 'yes' },
    headers: auth,
  });
  t.equal(r.statusCode, 400, 'fenceOnLinkDown must be a boolean');
  r = await app.inject({ method: 'POST', url: '/v1/mirrors', payload: body, headers: auth });
  t.equal(r.statusCode, 201);
  const id = r.json().id;
  t.equal(r.json().sourcePort, 1);
  t.equal(r.json().fenceOnLinkDown, false, 'no fence on link down unless asked');
  r = await app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    payload: { ...body, targetPort: 3, fenceOnLinkDown: true },
    headers: auth,
  });
  t.equal(r.statusCode, 201);
  t.equal(r.json().fenceOnLinkDown, true, 'asked for: shown');
  await app.inject({ method: 'DELETE', url: `/v1/mirrors/${r.json().id}`, headers: auth });
  r = await app.inject({ url: '/v1/mirrors' });
  t.equal(r.json().length, 1);
  r = await app.inject({ method: 'DELETE', url: `/v1/mirrors/${id}` });
  t.equal(r.statusCode, 401);
  r = await app.inject({ method: 'DELETE', url: `/v1/mirrors/${id}`, headers: auth });
  t.equal(r.statusCode, 204);
  r = await app.inject({ method: 'DELETE', url: `/v1/mirrors/${id}`, headers: auth });
  t.equal(r.statusCode, 404);
});

t.test('tcp-reset validates addresses and the sequence number', async (t) => {
  const { app, controller } = await setup(t);
  const body = { srcIp: '10.0.0.10', srcPort: 80, dstIp: '10.0.0.1', dstPort: 40000, seq: 4294967295 };
  let r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/tcp-reset`,
    payload: body,
    headers: auth,
  });
  t.equal(r.statusCode, 200);
  t.equal(r.json().outPort, 2);
  t.same(controller.calls, ['rst seq=4294967295']);
  r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/tcp-reset`,
    payload: { ...body, seq: 2 ** 32 },
    headers: auth,
  });
  t.equal(r.statusCode, 400, 'seq above u32');
  r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/tcp-reset`,
    payload: { ...body, srcIp: '10.0.0' },
    headers: auth,
  });
  t.equal(r.statusCode, 400, 'bad IP');
  r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/tcp-reset`,
    payload: { ...body, dstIp: 'fd00::1' },
    headers: auth,
  });
  t.equal(r.statusCode, 200, 'IPv6 accepted');
  r = await app.inject({
    method: 'POST',
    url: '/v1/switches/0000000000000009/tcp-reset',
    payload: body,
    headers: auth,
  });
  t.equal(r.statusCode, 404);
});

t.test('port state: down, bad state, unknown port, switch error -> 502', async (t) => {
  const { app } = await setup(t);
  let r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/ports/1/state`,
    payload: { state: 'down' },
    headers: auth,
  });
  t.equal(r.statusCode, 200);
  t.equal(r.json().adminDown, true);
  r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/ports/1/state`,
    payload: { state: 'sideways' },
    headers: auth,
  });
  t.equal(r.statusCode, 400);
  r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/ports/7/state`,
    payload: { state: 'up' },
    headers: auth,
  });
  t.equal(r.statusCode, 404);
  r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/ports/3/state`,
    payload: { state: 'bounce', durationMs: 10 },
    headers: auth,
  });
  t.equal(r.statusCode, 502);
  t.equal(r.json().ofError.code, 'OFPPMFC_EPERM');
  r = await app.inject({
    method: 'POST',
    url: `/v1/switches/${DPID}/ports/1/state`,
    payload: { state: 'up' },
  });
  t.equal(r.statusCode, 401);
});

t.test('redirects: create, list, bad MAC, delete, 404', async (t) => {
  const { app } = await setup(t);
  const body = { dpid: DPID, ip: '10.0.0.10', fromPort: 1, toPort: 3, toMac: '02:00:00:00:00:03' };
  let r = await app.inject({
    method: 'POST',
    url: '/v1/redirects',
    payload: { ...body, toMac: 'zz' },
    headers: auth,
  });
  t.equal(r.statusCode, 400);
  r = await app.inject({ method: 'POST', url: '/v1/redirects', payload: body, headers: auth });
  t.equal(r.statusCode, 201);
  const id = r.json().id;
  r = await app.inject({ url: '/v1/redirects' });
  t.equal(r.json()[0].ip, '10.0.0.10');
  r = await app.inject({ method: 'DELETE', url: `/v1/redirects/${id}`, headers: auth });
  t.equal(r.statusCode, 204);
  r = await app.inject({ method: 'DELETE', url: `/v1/redirects/${id}`, headers: auth });
  t.equal(r.statusCode, 404);
});

t.test('openapi document lists every route', async (t) => {
  const { app } = await setup(t);
  const doc = (await app.inject({ url: '/openapi.json' })).json();
  t.equal(doc.openapi.slice(0, 2), '3.');
  for (const path of [
    '/health',
    '/v1/switches',
    '/v1/switches/{dpid}',
    '/v1/switches/{dpid}/flows',
    '/v1/mirrors',
    '/v1/mirrors/{id}',
    '/v1/switches/{dpid}/tcp-reset',
    '/v1/switches/{dpid}/ports/{port}/state',
    '/v1/redirects',
    '/v1/redirects/{id}',
    '/v1/events',
    '/metrics',
  ]) {
    t.ok(doc.paths[path], `${path} documented`);
  }
});

t.test('metrics count API requests', async (t) => {
  const { app } = await setup(t);
  await app.inject({ url: '/health' });
  const r = await app.inject({ url: '/metrics' });
  t.equal(r.statusCode, 200);
  t.match(r.body, /nonstop_controller_http_requests_total\{method="GET",route="\/health",status="200"\} 1/);
});

t.test('server-sent events deliver controller events and unsubscribe on close', async (t) => {
  const { app, controller } = await setup(t);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const got = await new Promise<string>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/events' }, (res) => {
      t.equal(res.headers['content-type'], 'text/event-stream');
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        if (buf.includes('heartbeat') && !buf.includes('switch-connected')) {
          controller.emit({ type: 'switch-connected', dpid: DPID, at: 'now' });
        }
        const m = /data: (.*)\n\n/.exec(buf);
        if (m) {
          req.destroy();
          resolve(m[1]);
        }
      });
    });
    req.on('error', reject);
  });
  t.same(JSON.parse(got), { type: 'switch-connected', dpid: DPID, at: 'now' });
  for (let i = 0; i < 50 && controller.listeners.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(controller.listeners.size, 0, 'listener removed when the client went away');
});

t.test("an agent's keep-warm pings reach the health route and are not logged", async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
  const app = await buildApi({
    controller: new FakeController(),
    registry: new Registry(),
    token: TOKEN,
    logger,
  });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const client = new ControllerClient({
    url: `http://127.0.0.1:${port}`,
    token: TOKEN,
    idleConnectionMs: 100,
  });
  t.teardown(() => client.close());
  const stop = client.keepWarm();
  await new Promise((r) => setTimeout(r, 400));
  stop();
  const metrics = (await app.inject({ url: '/metrics' })).body;
  const pings = Number(/route="\/health",status="200"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  t.ok(pings >= 3, `the pings reached the health route (${pings}, all answered 200)`);
  t.notMatch(metrics, /route="[^"]*",status="404"/, 'none went to a route that does not exist');
  t.same(
    lines.filter((l) => l.includes('/health')),
    [],
    'not one log line for them',
  );
});
