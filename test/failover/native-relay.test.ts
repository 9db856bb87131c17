// The addon's relay thread on real loopback sockets: bytes both ways, in order and complete
// under backpressure, bytes JS had read go first, EOF passed on as a half-close, an error
// resets the client, and many pairs at once. The joiner's JS pipes stay the comparison.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import t from 'tap';
import { fdOf, NativeRelay, type RelayOutcome } from '../../standby-agent/failover/native-relay.js';
import { ServiceJoiner } from '../../standby-agent/failover/resume.js';
import { listen, pair } from './fixtures/loopback.js';
import { joined } from './fixtures/relay-join.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function collect(s: net.Socket): Promise<{ data: Buffer; error?: string }> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve({ data: Buffer.concat(chunks) }));
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ data: Buffer.concat(chunks), error: e.code }));
  });
}

/** What each client got back from an echo service for `ping <its index>` (sent here if `send`). */
function echoes(clients: net.Socket[], send: boolean): Promise<string[]> {
  return Promise.all(
    clients.map(
      (c, i) =>
        new Promise<string>((resolve) => {
          let got = '';
          c.setEncoding('utf8');
          c.on('data', (d: string) => {
            got += d;
            if (got.length >= `ping ${i}`.length) resolve(got);
          });
          if (send) c.write(`ping ${i}`);
        }),
    ),
  );
}

/** `n` connected pairs: each client has sent `ping <its index>`, its peer (the restored
 *  socket stand-in) has not read it */
async function pinging(n: number): Promise<{ clients: net.Socket[]; restored: net.Socket[] }> {
  const clients: net.Socket[] = [];
  const restored: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const [client, r] = await pair();
    client.write(`ping ${i}`);
    clients.push(client);
    restored.push(r);
  }
  return { clients, restored };
}

/** Two connected pairs whose inner ends are relayed: [client, local service side, ended]. */
async function relayed(toClientFirst = Buffer.alloc(0), before?: (c: net.Socket) => Promise<void>) {
  const [client, restored] = await pair(true);
  const [localPeer, local] = await pair(true);
  if (before) await before(client);
  let ended!: (o: RelayOutcome) => void;
  // the relay does not keep a process alive on its own: hold it until the pair has ended
  const alive = setInterval(() => {}, 1000);
  const outcome = new Promise<RelayOutcome>((r) => {
    ended = (o) => {
      clearInterval(alive);
      r(o);
    };
  });
  NativeRelay.shared().adopt(restored, local, toClientFirst, ended);
  return { client, localPeer, outcome };
}

t.test('8 MiB each way, complete and in order, with a half-close each way', async (t) => {
  const up = randomBytes(8 << 20);
  const down = randomBytes(8 << 20);
  const { client, localPeer, outcome } = await relayed();
  const atLocal = collect(localPeer);
  const atClient = collect(client);
  client.end(up);
  // the local side answers after the client's EOF reached it (a half-close passed on)
  const got = await atLocal;
  t.equal(got.data.length, up.length, 'the local side got every byte');
  t.equal(sha(got.data), sha(up), 'in order');
  localPeer.end(down);
  const back = await atClient;
  t.equal(sha(back.data), sha(down), 'the client got every byte of the reply, then EOF');
  const o = await outcome;
  t.same(
    o,
    { toLocal: up.length, toClient: down.length, error: undefined, joined: true },
    'the relay counted both ways',
  );
});

t.test('bytes JS had already read, and a first reply, go before anything else', async (t) => {
  const { client, localPeer, outcome } = await relayed(Buffer.from('FIRST:'), async (c) => {
    c.write('early');
    await new Promise((r) => setTimeout(r, 30));
  });
  const atLocal = collect(localPeer);
  const atClient = collect(client);
  client.end('-late');
  t.equal((await atLocal).data.toString(), 'early-late');
  localPeer.end('reply');
  t.equal((await atClient).data.toString(), 'FIRST:reply');
  await outcome;
});

t.test('the local service resets: the client is reset too, and JS hears why', async (t) => {
  const { client, localPeer, outcome } = await relayed();
  const atClient = collect(client);
  client.write('x');
  await new Promise((r) => setTimeout(r, 20));
  localPeer.resetAndDestroy();
  const seen = await atClient;
  t.equal(seen.error, 'ECONNRESET', 'the client sees a reset, not a hang');
  t.match((await outcome).error, /local service/, 'the outcome names the side that failed');
});

t.test('500 pairs at once, each an echo', async (t) => {
  const echo = net.createServer((s) => s.pipe(s));
  const port = await listen(echo);
  t.teardown(() => echo.close());
  const joiner = new ServiceJoiner({ host: '127.0.0.1', port });
  const clients: net.Socket[] = [];
  for (let i = 0; i < 500; i++) {
    const [client, restored] = await pair();
    joiner.join(restored, `c${i}`);
    clients.push(client);
  }
  const answers = await echoes(clients, true);
  t.ok(
    answers.every((a, i) => a === `ping ${i}`),
    'every pair echoed its own bytes',
  );
  t.equal(joiner.relayed >= 500 || NativeRelay.shared().count >= 500, true, 'all on the relay thread');
  await Promise.all(
    clients.map((c) => {
      const closed = new Promise((r) => c.once('close', r));
      c.end();
      return closed;
    }),
  );
  await new Promise((r) => setTimeout(r, 100));
  t.equal(joiner.stats.live, 0, 'every pair ended and was counted');
  t.equal(joiner.relayed, 0, 'the relay let go of them');
});

t.test('relayJoin: the relay thread connects to the local service, then relays both ways', async (t) => {
  const service = net.createServer({ allowHalfOpen: true });
  const atService = new Promise<net.Socket>((resolve) => service.once('connection', resolve));
  const port = await listen(service);
  t.teardown(() => service.close());
  const before = NativeRelay.shared().stats().joined;
  const [client, restored] = await pair(true);
  client.write('request queued before the join');
  await new Promise((r) => setTimeout(r, 20));
  const outcome = joined(restored, port);
  const local = await atService;
  const atLocal = collect(local);
  const atClient = collect(client);
  client.end(' and after');
  t.equal((await atLocal).data.toString(), 'request queued before the join and after', 'in order, once');
  local.end('reply');
  t.equal((await atClient).data.toString(), 'reply', 'the reply, then EOF');
  const o = await outcome;
  t.same(o, { toLocal: 40, toClient: 5, error: undefined, joined: true });
  t.equal(NativeRelay.shared().stats().joined, before + 1, 'counted as joined');
});

t.test('relayJoin: a local service that refuses resets the client at once', async (t) => {
  const closed = net.createServer();
  const port = await listen(closed);
  await new Promise((r) => closed.close(r)); // nobody listens on `port` now
  const before = NativeRelay.shared().stats().connectFailed;
  const [client, restored] = await pair(true);
  const atClient = collect(client);
  const o = await joined(restored, port);
  t.equal(o.joined, false, 'never joined');
  t.match(o.error, /connect to the local service: Connection refused/);
  t.equal((await atClient).error, 'ECONNRESET', 'the client is reset, not left hanging');
  t.equal(NativeRelay.shared().stats().connectFailed, before + 1, 'counted as failed');
});

t.test('relayJoin: a bad address is refused before anything is queued', async (t) => {
  const [client, restored] = await pair();
  t.teardown(() => {
    client.destroy();
    restored.destroy();
  });
  t.throws(
    () => NativeRelay.shared().join(fdOf(restored), 'localhost', 80, () => {}),
    /IPv4 or IPv6 address/,
  );
  t.throws(() => NativeRelay.shared().join(fdOf(restored), '127.0.0.1', 0, () => {}), /port must be 1-65535/);
});

t.test('relayJoin: 400 joins at once, beyond the connects the relay makes at a time', async (t) => {
  const echo = net.createServer((s) => s.pipe(s));
  const port = await listen(echo);
  t.teardown(() => echo.close());
  const before = NativeRelay.shared().stats().joined;
  const clients: net.Socket[] = [];
  const outcomes: Promise<RelayOutcome>[] = [];
  for (let i = 0; i < 400; i++) {
    const [client, restored] = await pair();
    client.write(`ping ${i}`);
    clients.push(client);
    outcomes.push(joined(restored, port));
  }
  const answers = await echoes(clients, false);
  t.ok(
    answers.every((a, i) => a === `ping ${i}`),
    'every client got its own bytes back',
  );
  t.equal(NativeRelay.shared().stats().joined, before + 400, 'all 400 joined');
  for (const c of clients) c.end();
  const ended = await Promise.all(outcomes);
  t.ok(
    ended.every((o) => o.joined && !o.error),
    'every pair ended cleanly',
  );
});

t.test('relayJoinMany: one call joins each fd, and an fd that is not one ends at once', async (t) => {
  const echo = net.createServer((s) => s.pipe(s));
  const port = await listen(echo);
  t.teardown(() => echo.close());
  const { clients, restored } = await pinging(50);
  const ends = new Map<number, RelayOutcome>();
  const allEnded = new Promise<void>((resolve) => {
    NativeRelay.shared().joinMany([...restored.map(fdOf), 999_999], '127.0.0.1', port, (i, o) => {
      ends.set(i, o);
      if (ends.size === 51) resolve();
    });
  });
  for (const r of restored) r.destroy(); // the relay holds duplicates
  t.match(
    ends.get(50),
    { joined: false, error: /dup: Bad file descriptor/ },
    'the bad fd ended at once, with why',
  );
  const answers = await echoes(clients, false);
  t.ok(
    answers.every((a, i) => a === `ping ${i}`),
    'every client got its own bytes back',
  );
  for (const c of clients) c.end();
  await allEnded;
  t.ok(
    [...ends].filter(([i]) => i < 50).every(([, o]) => o.joined && !o.error),
    'the others ended cleanly, each reported under its own index',
  );
});

t.test(
  'relayJoinMany held, released while joins are being registered: all 500 get their reply',
  async (t) => {
    // a release asked while the relay thread is still taking a burst of joins (here: as the
    // first request reaches the service) is for all of them (a version that took joins a chunk
    // at a time lost the release for the later chunks: 232 and 424 of 1,000 never answered)
    let released = false;
    const echo = net.createServer((s) => {
      s.once('data', () => {
        if (!released) NativeRelay.shared().release();
        released = true;
      });
      s.pipe(s);
    });
    const port = await listen(echo);
    t.teardown(() => echo.close());
    const { clients, restored } = await pinging(500);
    let ended = 0;
    const allEnded = new Promise<void>((resolve) => {
      NativeRelay.shared().joinMany(
        restored.map(fdOf),
        '127.0.0.1',
        port,
        () => {
          if (++ended === 500) resolve();
        },
        true,
      );
    });
    for (const r of restored) r.destroy(); // the relay holds duplicates
    const answers = await Promise.race([
      echoes(clients, false),
      new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 10_000)),
    ]);
    t.equal(answers.length, 500, 'every client got an answer within 10 s');
    t.ok(
      answers.every((a, i) => a === `ping ${i}`),
      'each its own',
    );
    for (const c of clients) c.end();
    if (answers.length === 500) await allEnded;
    else for (const c of clients) c.destroy();
  },
);

t.test('relayJoin held: the request goes on at once, the reply waits for the release', async (t) => {
  const service = net.createServer({ allowHalfOpen: true });
  const atService = new Promise<net.Socket>((resolve) => service.once('connection', resolve));
  const port = await listen(service);
  t.teardown(() => service.close());
  const [client, restored] = await pair(true);
  client.write('queued');
  await new Promise((r) => setTimeout(r, 20));
  const outcome = joined(restored, port, { hold: true });
  const local = await atService;
  const first = await new Promise<string>((resolve) =>
    local.once('data', (d: Buffer) => resolve(d.toString())),
  );
  t.equal(first, 'queued', 'the queued request reached the local service while held');
  const atLocal = collect(local);
  let early = '';
  client.on('data', (d: Buffer) => {
    early += d.toString();
  });
  local.write('reply');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(early, '', 'no reply reached the client while held');
  const atClient = collect(client);
  NativeRelay.shared().release();
  client.end('+more');
  t.equal((await atLocal).data.toString(), '+more', 'the rest after the release');
  local.end();
  await atClient;
  t.equal(early, 'reply', 'after the release: the reply, once');
  t.match(await outcome, { joined: true, error: undefined, toLocal: 11, toClient: 5 });
});

t.test('paused: the relay thread touches no socket until unpaused', async (t) => {
  const { client, localPeer, outcome } = await relayed();
  const got: string[] = [];
  localPeer.on('data', (d: Buffer) => got.push(d.toString()));
  client.write('a');
  await new Promise((r) => setTimeout(r, 50));
  t.same(got, ['a'], 'relayed while running');
  const waiting = NativeRelay.shared().paused(() => {
    client.write('b'); // written at once (loopback): it waits in the relayed socket's queue
    const until = Date.now() + 50;
    while (Date.now() < until) {
      // the relay thread would have read it by now, were it not paused
    }
    // the relayed (server) side of the client's connection: its receive queue
    const ss = execFileSync('ss', ['-tnH', 'state', 'established', `( sport = :${client.remotePort} )`], {
      encoding: 'utf8',
    });
    return Number(ss.trim().split(/\s+/)[0]);
  });
  t.equal(waiting, 1, 'the byte stayed in the socket while paused');
  await new Promise((r) => setTimeout(r, 50));
  t.same(got, ['a', 'b'], 'relayed once unpaused');
  client.end();
  localPeer.end();
  await outcome;
});

t.test('relayJoin held, then cancelled: the client is reset', async (t) => {
  const service = net.createServer();
  const port = await listen(service);
  t.teardown(() => service.close());
  const [client, restored] = await pair(true);
  const atClient = collect(client);
  const outcome = joined(restored, port, { hold: true, keepOurs: true });
  NativeRelay.shared().cancel();
  t.match(await outcome, { error: /abandoned/ }, 'the outcome says why');
  restored.destroy(); // the last reference: the socket goes, with the relay's reset
  t.equal((await atClient).error, 'ECONNRESET');
});

t.test('relayJoin paces its connects by the local listener accept queue', async (t) => {
  // a listener with a backlog of 8 that accepts nothing for 600 ms, then everything
  const py = spawn(
    'python3',
    [
      '-c',
      `import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
time.sleep(0.6)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => py.kill('SIGKILL'));
  const port = await new Promise<number>((resolve) =>
    py.stdout.once('data', (d: Buffer) => resolve(Number(d))),
  );
  const before = NativeRelay.shared().stats().joined;
  const outcomes: Promise<RelayOutcome>[] = [];
  const clients: net.Socket[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 30; i++) {
    const [client, restored] = await pair();
    clients.push(client);
    outcomes.push(joined(restored, port));
  }
  await new Promise((r) => setTimeout(r, 300));
  const early = NativeRelay.shared().stats().joined - before;
  t.ok(early <= 5, `while nothing is accepted, at most half the backlog is connected (${early})`);
  while (NativeRelay.shared().stats().joined - before < 30 && Date.now() - t0 < 5000)
    await new Promise((r) => setTimeout(r, 10));
  const took = Date.now() - t0;
  t.equal(NativeRelay.shared().stats().joined - before, 30, 'all joined once the listener accepts');
  // a connect dropped by a full queue is retried after a second: none was
  t.ok(took < 1400, `all 30 joined ${took} ms after the first (accepting from 600 ms)`);
  py.kill('SIGKILL'); // its connections reset: the pairs end
  for (const c of clients) c.destroy();
  await Promise.all(outcomes);
});
