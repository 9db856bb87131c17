// Taking the service address and setting the clients' neighbour entries over rtnetlink, in a
// namespace of the test's own: the address appears (IPv4 and IPv6, the latter without DAD),
// taking it twice is fine, 1,000 neighbour entries go in at once, and bad input says what is
// wrong. The probe runs inside the namespace (netlink acts on the caller's namespace).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { runFixtureInNamespace } from '../helpers/ns-fixture.js';

const id = randomBytes(3).toString('hex');
const NS = `ad${id}`;
const DEV = `ad${id}0`;
const sh = (args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const quiet = (args: string[]) => {
  try {
    sh(args);
  } catch {
    /* already gone */
  }
};
const cleanup = () => quiet(['netns', 'del', NS]);
process.once('exit', cleanup);
t.teardown(cleanup);

function probe(job: unknown): Record<string, unknown> {
  return runFixtureInNamespace(NS, 'test/failover/fixtures/address-probe.ts', [DEV, JSON.stringify(job)]);
}

t.test('the service address, IPv4 and IPv6, once or twice; 1,000 neighbours at once', async (t) => {
  sh(['netns', 'add', NS]);
  sh(['-n', NS, 'link', 'add', DEV, 'type', 'veth', 'peer', 'name', `${DEV}p`]);
  sh(['-n', NS, 'link', 'set', DEV, 'up']);
  sh(['-n', NS, 'link', 'set', `${DEV}p`, 'up']);
  sh(['-n', NS, 'addr', 'add', '10.219.0.2/24', 'dev', DEV]);
  const neigh = Array.from({ length: 1000 }, (_, i) => ({
    ip: `10.219.${1 + (i >> 8)}.${i & 255}`,
    mac: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
  }));
  const r = probe({ take: ['10.219.0.1', '10.219.0.1', 'fd19::1'], neigh });
  t.same(r.took, ['10.219.0.1', '10.219.0.1', 'fd19::1'], 'taken, and taking again is fine');
  t.equal(r.takeError, undefined);
  t.equal(r.neighbours, 1000);
  t.ok(
    (r.local as string[]).includes('10.219.0.1') && (r.local as string[]).includes('fd19::1'),
    'both are local addresses now',
  );
  const addrs = JSON.parse(sh(['-n', NS, '-j', 'addr', 'show', 'dev', DEV])) as Array<{
    addr_info: Array<{ local: string; prefixlen: number; tentative?: boolean }>;
  }>;
  const info = addrs[0].addr_info;
  t.match(
    info.find((a) => a.local === '10.219.0.1'),
    { prefixlen: 32 },
    'a /32 host address',
  );
  const v6 = info.find((a) => a.local === 'fd19::1');
  t.match(v6, { prefixlen: 128 }, 'a /128');
  t.notOk(v6?.tentative, 'no duplicate address detection to wait for');
  t.equal(
    execFileSync('ip', ['netns', 'exec', NS, 'cat', `/proc/sys/net/ipv4/conf/${DEV}/arp_announce`], {
      encoding: 'utf8',
    }).trim(),
    '2',
    'ARP names the standby own address',
  );
  const table = sh(['-n', NS, 'neigh', 'show', 'dev', DEV]);
  t.match(table, /10\.219\.1\.0 lladdr 02:00:00:00:00:00 STALE/);
  t.match(table, /10\.219\.4\.231 lladdr 02:00:00:00:03:e7 STALE/);
  t.equal(table.trim().split('\n').length, 1000, 'every entry is there');
});

t.test('bad input: the interface, the address and the entries are named', async (t) => {
  t.match(probe({ take: ['not-an-ip'], neigh: [] }), { takeError: /not an IP address: not-an-ip/ });
  t.match(probe({ take: [], neigh: [{ ip: '10.219.0.9', mac: 'zz' }] }), {
    neighError: /bad entry 10\.219\.0\.9 zz/,
  });
  quiet(['-n', NS, 'link', 'del', DEV]);
  t.match(probe({ take: ['10.219.0.1'], neigh: [] }), { takeError: new RegExp(DEV) });
});
