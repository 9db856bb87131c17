// Heartbeat probes and the monitor against real local servers (127.0.0.1, ephemeral ports).
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { httpProbe, parseHeartbeatTarget, tcpProbe } from '../../standby-agent/liveness/heartbeat.js';
import { LivenessMonitor } from '../../standby-agent/liveness/monitor.js';

function listen(server: net.Server): Promise<number> {
  return new Promise((res) =>
    server.listen(0, '127.0.0.1', () => res((server.address() as net.AddressInfo).port)),
  );
}

t.test('target parsing', async (t) => {
  t.same(parseHeartbeatTarget('10.0.0.1:80'), { kind: 'tcp', host: '10.0.0.1', port: 80 });
  t.same(parseHeartbeatTarget('tcp://[fd00::1]:8080'), { kind: 'tcp', host: 'fd00::1', port: 8080 });
  t.same(parseHeartbeatTarget('http://10.0.0.1/health'), { kind: 'http', url: 'http://10.0.0.1/health' });
  t.throws(() => parseHeartbeatTarget('nonsense'), /HOST:PORT/);
  t.throws(() => parseHeartbeatTarget('h:70000'), /range/);
});

t.test('tcp and http probes', async (t) => {
  const tcp = net.createServer((s) => s.end());
  const port = await listen(tcp);
  t.teardown(() => tcp.close());
  t.match(await tcpProbe('127.0.0.1', port, 500), { ok: true });
  tcp.close();
  t.match(await tcpProbe('127.0.0.1', port, 500), { ok: false, error: 'ECONNREFUSED' });

  let status = 200;
  const web = http.createServer((_req, res) => {
    res.statusCode = status;
    res.end('x');
  });
  const wport = await listen(web);
  t.teardown(() => web.close());
  t.match(await httpProbe(`http://127.0.0.1:${wport}/`, 500), { ok: true });
  status = 503;
  t.match(await httpProbe(`http://127.0.0.1:${wport}/`, 500), { ok: false, error: 'HTTP 503' });

  // accepts but never answers: a hung service
  const hung = net.createServer(() => {});
  const hport = await listen(hung);
  t.teardown(() => hung.close());
  const r = await httpProbe(`http://127.0.0.1:${hport}/`, 100);
  t.match(r, { ok: false, error: 'timeout' });
});

/** Keeps this thread busy, as a capture backlog or a long GC would. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

t.test('a stalled agent does not turn a live service into a timeout', async (t) => {
  // TCP: the kernel completes the handshake while this thread is stalled
  const tcp = net.createServer((s) => s.end());
  const port = await listen(tcp);
  t.teardown(() => tcp.close());
  const p = tcpProbe('127.0.0.1', port, 50);
  stall(200);
  t.match(await p, { ok: true }, 'tcp: the answer that arrived meanwhile counts');

  // HTTP: the server lives in another process, so it answers while this thread is stalled
  const child = spawn(
    process.execPath,
    [
      '-e',
      "const s=require('node:http').createServer((q,r)=>r.end('ok')).listen(0,'127.0.0.1',()=>console.log(s.address().port))",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill());
  const wport = await new Promise<number>((res) => child.stdout?.once('data', (d) => res(Number(String(d)))));
  const h = httpProbe(`http://127.0.0.1:${wport}/`, 60);
  stall(150);
  t.match(await h, { ok: true }, 'http: a late deadline gives the exchange one more timeout');

  // and a silent service still times out, stall or not
  const hung = net.createServer(() => {});
  const hport = await listen(hung);
  t.teardown(() => hung.close());
  const started = performance.now();
  const r = httpProbe(`http://127.0.0.1:${hport}/`, 50);
  stall(120);
  t.match(await r, { ok: false, error: 'timeout' });
  t.ok(performance.now() - started < 400, 'within two timeouts of the stall');
});

t.test('monitor: a hung HTTP service is declared dead by heartbeats', async (t) => {
  let hang = false;
  const sockets = new Set<net.Socket>();
  const web = http.createServer((_req, res) => {
    if (!hang) res.end('ok');
  });
  web.on('connection', (s) => sockets.add(s));
  const port = await listen(web);
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    web.close();
  });
  const mon = new LivenessMonitor({ target: { kind: 'http', url: `http://127.0.0.1:${port}/` } });
  t.teardown(() => mon.stop());
  mon.start();
  await new Promise((r) => setTimeout(r, 350));
  t.ok(mon.core.answering(), 'answering while the service answers');
  const hungAt = performance.now();
  hang = true;
  const v = await new Promise<{ reason: string; atMs: number }>((res) => mon.once('dead', res));
  t.match(v.reason, /consecutive heartbeats failed \(last: timeout\)/);
  t.ok(v.atMs > hungAt, 'declared after the hang');
  t.comment(`detected ${Math.round(v.atMs - hungAt)} ms after the hang`);
});

t.test('monitor: a link-down port-status event is death at once', async (t) => {
  const tcp = net.createServer((s) => s.end());
  const port = await listen(tcp);
  t.teardown(() => tcp.close());
  const mon = new LivenessMonitor({
    target: { kind: 'tcp', host: '127.0.0.1', port },
    dpid: '0000000000000001',
    servicePort: 1,
  });
  const deaths: unknown[] = [];
  mon.on('dead', (v) => deaths.push(v));
  const ev = (dpid: string, portNo: number, linkDown: boolean) => ({
    type: 'port-status',
    dpid,
    at: new Date().toISOString(),
    reason: 'modify',
    port: { portNo, name: 'p', linkDown, adminDown: false },
  });
  mon.controllerEvent(ev('0000000000000002', 1, true));
  mon.controllerEvent(ev('0000000000000001', 2, true));
  mon.controllerEvent(ev('0000000000000001', 1, false));
  t.equal(deaths.length, 0, 'other switches, other ports and link up are ignored');
  mon.controllerEvent(ev('0000000000000001', 1, true));
  t.equal(deaths.length, 1, 'dead on link down');
  t.match(deaths[0], { evidence: { kind: 'port-down' } });
});
