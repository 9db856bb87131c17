// The agent's controller client against real HTTP servers on a unix socket: JSON calls with the
// bearer token, HTTP errors, no answer (timeout), nobody listening, and the event stream.
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  ControllerClient,
  ControllerError,
  isPortStatusEvent,
} from '../../standby-agent/failover/controller-client.js';

const dir = mkdtempSync(join(tmpdir(), 'nonstop-cc-'));

function serve(path: string, handler: http.RequestListener): Promise<http.Server> {
  const s = http.createServer(handler);
  return new Promise((res) => s.listen(path, () => res(s)));
}

t.test('calls, errors, timeouts, unreachable', async (t) => {
  const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];
  const path = join(dir, 'api.sock');
  const server = await serve(path, (req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      if (req.url === '/v1/redirects') {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'r9' }));
      } else if (req.url?.endsWith('/tcp-reset')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'unknown switch 00000000000000ff' }));
      } else if (req.url?.includes('/ports/')) {
        // never answers: a hung controller
      } else {
        res.writeHead(204);
        res.end();
      }
    });
  });
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const c = new ControllerClient({ url: `unix:${path}`, token: 'tok', timeoutMs: 300 });
  const r = await c.addRedirect({
    dpid: '0000000000000001',
    ip: '10.0.0.1',
    fromPort: 1,
    toPort: 2,
    toMac: '02:00:00:00:00:02',
  });
  t.same(r, { id: 'r9' });
  t.match(seen[0], { method: 'POST', url: '/v1/redirects', auth: 'Bearer tok' });
  t.same(JSON.parse(seen[0].body), {
    dpid: '0000000000000001',
    ip: '10.0.0.1',
    fromPort: 1,
    toPort: 2,
    toMac: '02:00:00:00:00:02',
  });
  await c.removeMirror('m 1');
  t.equal(seen[1].url, '/v1/mirrors/m%201', 'ids are escaped');
  await t.rejects(
    c.tcpReset('00000000000000ff', { srcIp: 'a', srcPort: 1, dstIp: 'b', dstPort: 2, seq: 3 }),
    {
      name: 'ControllerError',
      status: 404,
      message: /HTTP 404 unknown switch/,
    },
  );
  const hung: ControllerError = (await c
    .setPortState('0000000000000001', 2, 'down')
    .catch((e: ControllerError) => e)) as ControllerError;
  t.ok(hung instanceof ControllerError && hung.status === 0, 'no answer = status 0');
  t.match(hung.message, /no answer within 300 ms/);
  const gone = new ControllerClient({ url: `unix:${join(dir, 'nobody.sock')}` });
  const e: ControllerError = (await gone
    .setPortState('0000000000000001', 2, 'down')
    .catch((x: ControllerError) => x)) as ControllerError;
  t.ok(e instanceof ControllerError && e.status === 0, 'unreachable = status 0');
  t.match(e.message, /ENOENT|ECONNREFUSED/);
  t.throws(() => new ControllerClient({ url: 'ftp://x' }), /http:\/\/|unix:/);
});

t.test('requests share a kept connection; one the controller closed is replaced at once', async (t) => {
  const path = join(dir, 'kept.sock');
  const sockets: import('node:net').Socket[] = [];
  let requests = 0;
  const server = await serve(path, (req, res) => {
    requests++;
    req.resume();
    req.on('end', () => {
      res.writeHead(204);
      res.end();
    });
  });
  server.on('connection', (s) => sockets.push(s));
  const c = new ControllerClient({ url: `unix:${path}`, timeoutMs: 1000 });
  t.teardown(() => {
    c.close();
    server.closeAllConnections();
    server.close();
  });
  for (let i = 0; i < 3; i++) await c.removeMirror(`m${i}`);
  t.equal(requests, 3);
  t.equal(sockets.length, 1, 'three requests, one connection');
  // the controller closes the kept connection, and a request goes out before the client has
  // seen that: it fails on the dead connection and is sent again on a new one
  sockets[0].destroy();
  await c.removeMirror('m3');
  t.equal(requests, 4, 'the request reached the controller once');
  t.equal(sockets.length, 2, 'on a new connection');
});

t.test('keepWarm: the connection stays open through quiet longer than its idle timeout', async (t) => {
  const path = join(dir, 'warm.sock');
  let connections = 0;
  const paths: string[] = [];
  const server = await serve(path, (req, res) => {
    paths.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
  });
  server.on('connection', () => connections++);
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // without it, a request after the idle timeout needs a new connection
  const cold = new ControllerClient({ url: `unix:${path}`, timeoutMs: 1000, idleConnectionMs: 200 });
  await cold.removeMirror('m0');
  await quiet(500);
  await cold.removeMirror('m1');
  cold.close();
  t.equal(connections, 2, 'without keepWarm: a second connection after the quiet');
  connections = 0;
  paths.length = 0;
  const warm = new ControllerClient({ url: `unix:${path}`, timeoutMs: 1000, idleConnectionMs: 200 });
  t.teardown(() => warm.close());
  const stop = warm.keepWarm();
  await warm.removeMirror('m0');
  await quiet(700);
  await warm.removeMirror('m1');
  t.equal(connections, 1, 'with keepWarm: the same connection after the quiet');
  const health = paths.filter((p) => p === '/health').length;
  t.ok(health >= 3, `health asked while idle (${health} times)`);
  stop();
  const before = paths.length;
  await quiet(300);
  t.equal(paths.length, before, 'nothing more once stopped');
});

t.test('event stream: events parsed, reconnects after the stream ends', async (t) => {
  const path = join(dir, 'events.sock');
  let connections = 0;
  const server = await serve(path, (_req, res) => {
    connections++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = {
      type: 'port-status',
      dpid: '0000000000000001',
      at: 'now',
      reason: 'modify',
      port: { portNo: 2, name: 'p2', linkDown: connections === 1, adminDown: false },
    };
    // split across writes, plus a comment and a non-JSON event
    const text = `: hi\n\ndata: not json\n\ndata: ${JSON.stringify(ev)}\n\n`;
    res.write(text.slice(0, 20));
    setTimeout(() => res.end(text.slice(20)), 20);
  });
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const c = new ControllerClient({ url: `unix:${path}` });
  const events: unknown[] = [];
  const stop = c.followEvents((e) => events.push(e), undefined, 50);
  await new Promise((r) => setTimeout(r, 400));
  stop();
  t.ok(connections >= 2, 'reconnected after the stream ended');
  t.ok(events.length >= 2, 'one event per connection');
  t.ok(events.every(isPortStatusEvent));
  t.match(events[0], { port: { portNo: 2, linkDown: true } });
});
