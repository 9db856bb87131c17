// The relay's pool of idle connections to the local service (native/src/pool.cc), on real
// loopback sockets: it opens them ahead, joins take them (the service sees no new connection,
// and the client's request is the first thing it reads), they are replaced when the service
// closes them or when they age, a service that speaks first stops the pool, and a pool of 0
// closes them all. The relay is one per process: each test sets the pool it needs and ends
// with a pool of 0.
import net from 'node:net';
import t from 'tap';
import { NativeRelay } from '../../standby-agent/failover/native-relay.js';
import type { LocalPoolStats } from '../../standby-agent/restore/repair-addon.js';
import { listen, pair } from './fixtures/loopback.js';
import { joined } from './fixtures/relay-join.js';

const relay = NativeRelay.shared();
const pool = (): LocalPoolStats => relay.stats().pool;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks for a pool of 0 and waits until the relay has closed every idle connection. */
async function noPool(port: number): Promise<void> {
  relay.keepIdle('127.0.0.1', port, 0, 15_000);
  await until('no pooled connection', () => pool().ready === 0 && pool().connecting === 0);
}

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(pool())}`);
    await sleep(10);
  }
}

/** An echo service that counts the connections it accepted and holds open. */
async function echoService(onConnection?: (s: net.Socket) => void) {
  let accepted = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    if (onConnection) onConnection(s);
    else s.on('data', (d) => s.write(d));
  });
  const port = await listen(server);
  return {
    port,
    server,
    accepted: () => accepted,
    open: () => open.size,
    close: () => {
      for (const s of open) s.destroy();
      server.close();
    },
  };
}

t.test('idle connections are opened ahead, and a pool of 0 closes them all', async (t) => {
  const svc = await echoService();
  t.teardown(() => svc.close());
  relay.keepIdle('127.0.0.1', svc.port, 50, 15_000);
  await until('50 ready', () => pool().ready === 50);
  await until('the service holding 50', () => svc.open() === 50);
  t.equal(svc.accepted(), 50, 'the service accepted exactly 50');
  relay.keepIdle('127.0.0.1', svc.port, 0, 15_000);
  await until('none ready', () => pool().ready === 0);
  await until('the service holding none', () => svc.open() === 0);
  t.equal(svc.accepted(), 50, 'none was opened again');
});

t.test('joins take pooled connections: no connect, and the request is the first bytes read', async (t) => {
  const firstBytes: string[] = [];
  const svc = await echoService((s) => {
    let first = true;
    s.on('data', (d) => {
      if (first) firstBytes.push(d.toString());
      first = false;
      s.write(d);
    });
  });
  t.teardown(() => svc.close());
  relay.keepIdle('127.0.0.1', svc.port, 20, 15_000);
  await until('20 ready', () => pool().ready === 20);
  const before = relay.stats();
  const clients: net.Socket[] = [];
  const outcomes = [];
  for (let i = 0; i < 20; i++) {
    const [client, restored] = await pair();
    client.write(`request ${i}`);
    clients.push(client);
    outcomes.push(joined(restored, svc.port, { hold: true }));
  }
  await until('20 taken', () => pool().taken - before.pool.taken === 20);
  relay.release();
  const answers = await Promise.all(
    clients.map(
      (c, i) =>
        new Promise<string>((resolve) => {
          let got = '';
          c.on('data', (d) => {
            got += d;
            if (got.length >= `request ${i}`.length) resolve(got);
          });
        }),
    ),
  );
  t.ok(
    answers.every((a, i) => a === `request ${i}`),
    'every client got its own request echoed',
  );
  t.equal(relay.stats().fromPool - before.fromPool, 20, 'all 20 joins used pooled connections');
  t.equal(svc.accepted(), 20, 'the service accepted no connection beyond the pooled ones');
  t.same(
    [...firstBytes].sort(),
    answers.map((_, i) => `request ${i}`).sort(),
    'the first bytes on each pooled connection were its request',
  );
  // the pool is refilled after the burst of takes (a second later), not during it
  t.equal(pool().ready, 0, 'not refilled while the takes may go on');
  await until('refilled', () => pool().ready === 20, 4000);
  await noPool(svc.port);
  for (const c of clients) c.end();
  await Promise.all(outcomes);
});

t.test('connections the service closes when idle are replaced, and sooner from then on', async (t) => {
  // the service drops every connection idle for 1.2 s (an idle timeout)
  const svc = await echoService((s) => {
    s.setTimeout(1200, () => s.destroy());
    s.on('data', (d) => s.write(d));
  });
  t.teardown(() => svc.close());
  const closedBefore = pool().closedByService;
  relay.keepIdle('127.0.0.1', svc.port, 5, 15_000);
  await until('5 ready', () => pool().ready === 5);
  await until('a close seen', () => pool().closedByService - closedBefore >= 1);
  t.ok(pool().maxAgeMs < 1200, `connections are now replaced before that age (${pool().maxAgeMs} ms)`);
  // The first five were opened together and reach the timeout together, but a loaded machine
  // spreads their closes: wait until all five are gone (closed, or replaced oldest first), i.e.
  // five more were opened since, or a late close of the first five counts below.
  const acceptedAtClose = svc.accepted();
  await until('the first five gone', () => svc.accepted() - acceptedAtClose >= 5 && pool().ready === 5);
  // from now on the pool replaces them first: the service's timeout closes (almost) none
  const closes = pool().closedByService;
  const accepted = svc.accepted();
  await sleep(2500);
  t.ok(pool().closedByService - closes <= 1, `${pool().closedByService - closes} more closed by the service`);
  t.ok(svc.accepted() - accepted >= 5, `all were replaced meanwhile (${svc.accepted() - accepted} opened)`);
  t.equal(pool().ready, 5, 'the pool is full');
  // a resize (the tracked connections changed) keeps what was learnt of the service
  const learnt = pool().maxAgeMs;
  relay.keepIdle('127.0.0.1', svc.port, 6, 15_000);
  await until('6 ready', () => pool().ready === 6);
  t.equal(pool().maxAgeMs, learnt, `still replaced before ${learnt} ms after a resize`);
  await noPool(svc.port);
});

t.test(
  'a service that is full (closes new connections at once): the pool keeps fewer than it holds',
  async (t) => {
    const held = new Set<net.Socket>();
    let refused = 0;
    const server = net.createServer((s) => {
      s.on('error', () => {});
      if (held.size >= 20) {
        refused++;
        s.destroy(); // like nginx out of worker_connections: accepted, closed at once
        return;
      }
      held.add(s);
      s.on('close', () => held.delete(s));
    });
    const port = await listen(server);
    t.teardown(() => {
      for (const s of held) s.destroy();
      server.close();
    });
    relay.keepIdle('127.0.0.1', port, 30, 15_000);
    await until('a limit', () => pool().limit !== undefined);
    // 10% fewer than the pool held when the first connection was closed at once: 18 of 20, or
    // 19 when connections the service had not accepted yet counted (a clean-clone CI run: 22
    // held then; dropping down to 19 made room, so the service kept those instead of closing them)
    await until(
      'the pool under a limit below 20',
      () => (pool().limit ?? 99) < 20 && pool().ready <= (pool().limit ?? 0),
      3000,
    );
    t.ok((pool().limit ?? 99) < 20, `the pool keeps at most ${pool().limit} (the service holds 20)`);
    t.match(pool().lastError, /closed a new connection at once/, 'says why');
    t.equal(pool().maxAgeMs, 15_000, 'a full service is not taken for an idle timeout');
    const refusedBefore = refused;
    await sleep(2000);
    t.ok(
      refused - refusedBefore <= 1,
      `no churn against the full service (${refused - refusedBefore} more refused)`,
    );
    t.ok(held.size < 20, `a place is left for the failover's joins (${held.size} of 20 held)`);
    await noPool(port);
  },
);

t.test('connections are replaced before they are maxAge old', async (t) => {
  const svc = await echoService();
  t.teardown(() => svc.close());
  relay.keepIdle('127.0.0.1', svc.port, 4, 2000);
  await until('4 ready', () => pool().ready === 4);
  const opened = pool().opened;
  // from half the max age (1 s) on, one at a time, the whole pool within the other half
  await sleep(2300);
  t.ok(pool().opened - opened >= 4, `every connection was replaced (${pool().opened - opened} opened)`);
  t.equal(pool().ready, 4, 'the pool stays full');
  t.ok(svc.open() <= 5, `replaced ones are closed (${svc.open()} open at the service)`);
  await noPool(svc.port);
});

t.test('a service that speaks first stops the pool, and joins still connect', async (t) => {
  const svc = await echoService((s) => {
    s.write('220 hello\r\n');
    s.on('data', (d) => s.write(d));
  });
  t.teardown(() => svc.close());
  relay.keepIdle('127.0.0.1', svc.port, 3, 15_000);
  await until('disabled', () => pool().disabled !== undefined);
  t.match(pool().disabled, /speaks first/, 'says why');
  t.equal(pool().ready, 0, 'no idle connection is kept');
  const before = relay.stats().fromPool;
  const [client, restored] = await pair();
  const got = new Promise<string>((resolve) => {
    let s = '';
    client.on('data', (d) => {
      s += d;
      if (s.length >= 11) resolve(s);
    });
  });
  const outcome = joined(restored, svc.port);
  t.equal(await got, '220 hello\r\n', 'the join connected afresh: the client got the greeting once');
  t.equal(relay.stats().fromPool, before, 'not from the pool');
  client.destroy();
  await outcome;
  await noPool(svc.port);
});

t.test('a refused connect is retried a second later, not in a loop', async (t) => {
  const svc = await echoService();
  const port = svc.port;
  svc.close(); // nothing listens there now
  const failed = pool().connectFailed;
  relay.keepIdle('127.0.0.1', port, 8, 15_000);
  await sleep(1500);
  const n = pool().connectFailed - failed;
  t.ok(n >= 1 && n <= 24, `${n} failed connects in 1.5 s (at most 8 a second)`);
  t.match(pool().lastError, /ECONNREFUSED|refused/i, 'the error is kept');
  await noPool(port);
});

t.test('bad arguments are refused', async (t) => {
  t.throws(() => relay.keepIdle('localhost', 80, 1, 15_000), /IPv4 or IPv6 address/);
  t.throws(() => relay.keepIdle('127.0.0.1', 0, 1, 15_000), /port must be 1-65535/);
  t.throws(() => relay.keepIdle('127.0.0.1', 80, -1, 15_000), /size must be an integer/);
  t.throws(() => relay.keepIdle('127.0.0.1', 80, 1.5, 15_000), /size must be an integer/);
  t.throws(() => relay.keepIdle('127.0.0.1', 80, 1, 10), /maxAgeMs must be at least 1000/);
});
