// The lab's load generator (fixtures/http-clients.c) against a scripted server on loopback: the
// e2e tests and bench/failover trust it to see every bad response, error, reconnect and gap,
// so each of those is made to happen here and must show in its summary.
import { spawn } from 'node:child_process';
import net from 'node:net';
import t, { type Test } from 'tap';
import type { ClientSummary } from './lab-scenario.js';
import { httpClientsBinary } from './lab-scenario.js';

const BODY = 'x'.repeat(2000);
const ok = (body = BODY, status = '200 OK') =>
  `HTTP/1.1 ${status}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

/** Answers each request with `answer(connection index, request index)`: a reply string to
 *  send, 'reset' (RST), or a delay then a good reply (split across two writes). */
async function scriptedServer(
  answer: (conn: number, req: number) => string | 'reset' | { delayMs: number },
): Promise<{ port: number; close(): Promise<void> }> {
  let conns = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const conn = conns++;
    let req = 0;
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        buf = buf.slice(end + 4);
        const a = answer(conn, req++);
        if (a === 'reset') s.resetAndDestroy();
        else if (typeof a === 'string') s.write(a);
        else
          setTimeout(() => {
            const r = ok();
            s.write(r.slice(0, 100));
            setTimeout(() => s.write(r.slice(100)), 5);
          }, a.delayMs);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Runs the clients; `during(signal)` may signal them; then SIGUSR2 and the summary. */
async function runClients(
  tt: Test,
  port: number,
  args: string[],
  during: (signal: (s: NodeJS.Signals) => void) => Promise<void>,
): Promise<{ lines: string[]; summary: ClientSummary }> {
  const p = spawn(
    httpClientsBinary(),
    [
      '--target',
      `127.0.0.1:${port}`,
      '--path',
      '/f',
      '--expect-bytes',
      '2000',
      '--expect-byte',
      'x',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => p.on('exit', r));
  await during((s) => p.kill(s));
  p.kill('SIGUSR2');
  tt.equal(await exited, 0, 'the clients exit 0');
  const lines = out.trim().split('\n');
  return { lines, summary: JSON.parse(lines[lines.length - 1]) as ClientSummary };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

t.test('good responses: ready line, one local port each, one response per request', async (t) => {
  const server = await scriptedServer(() => ok());
  t.teardown(server.close);
  const { lines, summary } = await runClients(
    t,
    server.port,
    ['--connections', '5', '--interval-ms', '20'],
    () => sleep(400),
  );
  t.same(JSON.parse(lines[0]), { started: true });
  t.match(JSON.parse(lines[1]), { ready: true, atMs: Number });
  t.equal(summary.connections.length, 5);
  for (const c of summary.connections) {
    t.equal(c.localPorts.length, 1);
    t.ok(c.responses >= 5, `${c.responses} responses`);
    t.equal(c.requests, c.responses, 'every request answered before the summary');
    t.same(c.badResponses, []);
    t.same(c.errors, []);
    t.equal(c.closes, 0);
    t.equal(c.failureGapMs, undefined, 'no gap is the failure`s without a mark');
  }
});

t.test('bad responses are each reported', async (t) => {
  const replies = [ok(), ok('y'.repeat(2000)), ok(BODY, '500 Oops'), ok('x'.repeat(1999)), ok()];
  const server = await scriptedServer((_c, req) => replies[Math.min(req, replies.length - 1)]);
  t.teardown(server.close);
  const { summary } = await runClients(t, server.port, ['--connections', '1', '--interval-ms', '10'], () =>
    sleep(300),
  );
  t.same(summary.connections[0].badResponses.slice(0, 3), [
    'body content differs',
    'status 500',
    'body 1999 bytes',
  ]);
});

t.test('a reset is an error and a close; --reconnect comes back on a new port', async (t) => {
  const server = await scriptedServer((conn, req) => (conn === 0 && req === 2 ? 'reset' : ok()));
  t.teardown(server.close);
  const { summary } = await runClients(
    t,
    server.port,
    ['--connections', '1', '--interval-ms', '10', '--reconnect'],
    () => sleep(300),
  );
  const c = summary.connections[0];
  t.equal(c.errors[0]?.code, 'ECONNRESET');
  t.equal(c.closes, 1);
  t.equal(c.reconnects, 1);
  t.equal(c.localPorts.length, 2);
  t.not(c.localPorts[0], c.localPorts[1]);
  t.ok(c.firstResponseAfterErrorMs !== undefined && c.firstErrorMs !== undefined);
  t.ok(c.responses > 3, 'answered again after the reconnect');
});

t.test('the mark, then the settle: the failure`s gap and the later gap apart', async (t) => {
  let delayNext = 0;
  const server = await scriptedServer(() => {
    const d = delayNext;
    delayNext = 0;
    return d ? { delayMs: d } : ok();
  });
  t.teardown(server.close);
  const { lines, summary } = await runClients(
    t,
    server.port,
    ['--connections', '1', '--interval-ms', '10'],
    async (signal) => {
      await sleep(200);
      signal('SIGUSR1'); // the mark
      delayNext = 150;
      await sleep(400);
      signal('SIGUSR1'); // the failover is over
      await sleep(50);
      delayNext = 400;
      await sleep(650);
    },
  );
  t.match(JSON.parse(lines[2]), { responses: Number, atMs: Number }, 'a status line at the mark');
  const c = summary.connections[0];
  // the later gap (400 ms) must not be taken for the failure's (150 ms)
  t.ok((c.failureGapMs ?? 0) >= 150 && (c.failureGapMs ?? 0) < 400, `failure gap ${c.failureGapMs}`);
  t.ok((c.laterGapMs ?? 0) >= 400, `later gap ${c.laterGapMs}`);
  t.ok(c.maxGapMs >= 400, 'the largest gap overall is the later one');
  t.same(c.badResponses, []);
});

t.test('bad arguments end with a message and exit 2', async (t) => {
  const p = spawn(httpClientsBinary(), ['--target', 'nohost'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => {
    err += d;
  });
  t.equal(await new Promise((r) => p.on('exit', r)), 2);
  t.match(err, /--target IP:PORT/);
});
