// The lab harness on the real thing: a private userspace OVS in its own namespace, two hosts,
// ping through a NORMAL flow (none without it: fail_mode=secure), and nothing left afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { spawn } from 'node:child_process';
import {
  cleanupPrefix,
  findLeftovers,
  isEmpty,
  Lab,
  listNamespaces,
  pidAlive,
  reapOrphanLabs,
  waitFor,
} from '../../topology/lab/index.js';
import { PORT_SOCKET_BUFFER, PORT_SOCKET_LOCK } from '../../topology/lab/ovs.js';
import { createTestLab } from '../helpers/lab.js';

t.test('two hosts ping through a private OVS, then everything is gone', async (t) => {
  const lab = await Lab.create();
  let destroyed = false;
  t.teardown(async () => {
    if (!destroyed) await lab.destroy();
  });
  const sw = await lab.addSwitch('s1', { dpid: '00000000000000a1' });
  const h1 = await lab.addHost('h1', { sw, ofport: 1, ip: '10.0.0.1/24', mac: '02:00:00:00:00:01' });
  const h2 = await lab.addHost('h2', { sw, ofport: 2, ip: '10.0.0.2/24', mac: '02:00:00:00:00:02' });

  t.equal(h1.ns, `${lab.prefix}-h1`);
  const desc = await sw.ovs.dumpPortsDesc('br0');
  t.match(desc, /1\(h1\)/, 'h1 is port 1');
  t.match(desc, /2\(h2\)/, 'h2 is port 2');
  t.match(await sw.ovs.show('br0'), /dpid:00000000000000a1/, 'datapath id set');
  t.same(await sw.dumpFlows(), [], 'secure bridge starts without flows');
  // OVS reads each port through a packet socket: sized for bursts, the host default put back
  const sockets = execFileSync('ip', ['netns', 'exec', sw.ns, 'ss', '-0', '-a', '-m', '-p']).toString();
  const sizes = [...sockets.matchAll(/\*:(h1|h2) .*?skmem:\(r\d+,rb(\d+)/g)].map((m) => [m[1], Number(m[2])]);
  t.same(
    sizes.sort(),
    [
      ['h1', PORT_SOCKET_BUFFER],
      ['h2', PORT_SOCKET_BUFFER],
    ],
    'each port is read through a packet socket with an 8 MiB receive buffer',
  );
  // read under the lock, so another lab adding ports just now does not show its raised value
  const hostDefault = execFileSync('flock', [
    PORT_SOCKET_LOCK,
    'cat',
    '/proc/sys/net/core/rmem_default',
  ]).toString();
  t.not(Number(hostDefault), PORT_SOCKET_BUFFER, 'the host default is put back');

  const noFlow = await h1.exec('ping', ['-c', '1', '-W', '1', h2.ip]).then(
    () => 'reply',
    () => 'no reply',
  );
  t.equal(noFlow, 'no reply', 'fail_mode=secure: no forwarding without flows');

  await sw.addFlow('priority=0,actions=NORMAL');
  t.match((await sw.dumpFlows()).join('\n'), /actions=NORMAL/);
  const { stdout } = await h1.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', h2.ip]);
  t.match(stdout, /2 received/, 'ping works with a NORMAL flow');

  // TCP through the userspace datapath (needs TX offload off on both veth ends)
  const server = h2.spawn(process.execPath, [
    '-e',
    `require('node:http').createServer((q, r) => r.end('hello from h2')).listen(8000, '${h2.ip}')`,
  ]);
  const body = await waitFor('HTTP server in h2', async () => {
    const r = await h1.exec('curl', ['-s', '--max-time', '2', `http://${h2.ip}:8000/`]);
    return r.stdout;
  });
  t.equal(body, 'hello from h2', 'TCP works through OVS');

  // a tracked process inside a host namespace
  const sleeper = h2.spawn('sleep', ['300']);
  t.ok(pidAlive(sleeper.pid), 'spawned process runs');
  const ovsPids = [sw.ovs.vswitchdPid, sw.ovs.ovsdbPid];
  t.ok(
    ovsPids.every((p) => p && pidAlive(p)),
    'OVS daemons run',
  );

  const before = await findLeftovers(lab.prefix);
  t.equal(before.namespaces.length, 3, 'three namespaces while the lab runs');

  await lab.destroy();
  destroyed = true;
  await lab.destroy(); // twice is harmless

  const after = await findLeftovers(lab.prefix);
  t.ok(isEmpty(after), `no leftovers: ${JSON.stringify(after)}`);
  t.notOk(pidAlive(sleeper.pid), 'spawned process killed');
  t.notOk(pidAlive(server.pid), 'server killed');
  t.ok(
    ovsPids.every((p) => !pidAlive(p!)),
    'OVS daemons stopped',
  );
  t.notOk(existsSync(lab.dir), 'temp dir removed');
  t.notOk(
    (await listNamespaces()).some((n) => n.startsWith(lab.prefix)),
    'no namespace with the prefix',
  );
});

t.test('controller targets are validated; unix: targets accepted', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1');
  const sock = sw.controllerSocket;
  // the switch lives in its own namespace; a unix socket still reaches a listener in ours
  const hello = new Promise<Buffer>((resolve) => {
    const srv = createServer((c) => {
      c.once('data', (d) => {
        resolve(d);
        c.destroy();
        srv.close();
      });
    });
    srv.listen(sock);
    t.teardown(() => srv.close());
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('OVS did not connect to the unix controller socket')), 15_000).unref(),
  );
  await sw.setController([`unix:${sock}`]);
  t.match(await sw.ovs.vsctl('get-controller', 'br0'), /unix:/);
  const first = await Promise.race([hello, timeout]);
  t.equal(first[0], 0x04, 'OpenFlow 1.3 version byte');
  t.equal(first[1], 0, 'HELLO');
  await sw.setController(['unix:other.sock']);
  t.match(
    await sw.ovs.vsctl('get-controller', 'br0'),
    sw.ovs.controllerSocket('other.sock'),
    'relative unix: names resolve in the run dir',
  );
  await t.rejects(sw.setController(['bogus:1']), /controller target/);
  await t.rejects(sw.setController([`unix:${join(lab.dir, 'elsewhere.sock')}`]), /run dir/);
});

t.test('cleanupPrefix removes a crashed run', async (t) => {
  const lab = await Lab.create();
  t.teardown(() => lab.destroy());
  await lab.addSwitch('s1');
  const root = lab.rootIfName('m');
  const other = await lab.addNamespace('x');
  await lab.link({ ns: null, name: root, address: '10.255.0.1/30' }, { ns: other, name: 'eth0' });
  lab.spawn(other, 'sleep', ['300']);
  // simulate a crash: forget the Lab object, clean up by prefix only
  const found = await cleanupPrefix(lab.prefix);
  t.equal(found.namespaces.length, 2);
  t.same(found.links, [root]);
  t.ok(found.pids.length >= 3, 'ovsdb-server, ovs-vswitchd and sleep found');
  t.ok(isEmpty(await findLeftovers(lab.prefix)), 'nothing left');
  await t.rejects(cleanupPrefix(''), /unsafe prefix/);
});

t.test('a SIGKILLed lab owner is reaped by reapOrphanLabs', async (t) => {
  const script = [
    "import { Lab } from './topology/lab/index.ts';",
    'const lab = await Lab.create();',
    "await lab.addSwitch('s1');",
    'console.log(lab.prefix);',
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const prefix = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (c) => reject(new Error(`child exited ${c}`)));
  });
  t.teardown(() => cleanupPrefix(prefix).then(() => {}));
  t.equal((await findLeftovers(prefix)).namespaces.length, 1, 'the child made its switch');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.ok((await reapOrphanLabs()).includes(prefix), 'reaped');
  t.ok(isEmpty(await findLeftovers(prefix)), 'nothing left of the killed run');
});
