// Desired state on real OVS: after a reconnect, a controller restart and an ovs-vswitchd restart
// the switch ends with the same controller-owned flows (pipeline, mirror, redirect); stale flows
// carrying our cookie are deleted, other owners' flows are left alone.
import { join } from 'node:path';
import t from 'tap';
import { type LabSwitch, readPidFile, run, waitFor } from '../../topology/lab/index.js';
import { createTestLab } from '../helpers/lab.js';
import { controllerFor, nextEvent } from './helpers.js';

const DPID = '00000000000000f1';

/** Our desired flows as ovs-ofctl prints them, counters and learnt flows left out. */
async function ourFlows(sw: LabSwitch): Promise<string[]> {
  const lines = await sw.dumpFlows('cookie=0x4e53000000000000/0xffff000000000000');
  return lines
    .filter((l) => l.includes('cookie=') && !l.includes('cookie=0x4e5302'))
    .map((l) => l.replace(/\s*(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?/g, '').trim())
    .sort();
}

async function restartVswitchd(sw: LabSwitch): Promise<void> {
  const ovs = sw.ovs;
  const pid = ovs.vswitchdPid ?? readPidFile(join(ovs.dir, 'ovs-vswitchd.pid'));
  if (pid) process.kill(pid, 'SIGKILL');
  await waitFor(
    'old ovs-vswitchd gone',
    async () => {
      try {
        process.kill(pid ?? 0, 0);
        return false;
      } catch {
        return true;
      }
    },
    5000,
  );
  await run(
    'ip',
    [
      'netns',
      'exec',
      ovs.namespace,
      'ovs-vswitchd',
      `unix:${ovs.dbSock}`,
      `--pidfile=${join(ovs.dir, 'ovs-vswitchd.pid')}`,
      `--unixctl=${join(ovs.dir, 'ovs-vswitchd.ctl')}`,
      `--log-file=${join(ovs.dir, 'ovs-vswitchd.log')}`,
      '--detach',
    ],
    { env: ovs.env, timeoutMs: 30_000 },
  );
  ovs.vswitchdPid = readPidFile(join(ovs.dir, 'ovs-vswitchd.pid'));
}

t.test('reconnect, controller restart and vswitchd restart keep the desired flows', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: DPID });
  const h1 = await lab.addHost('h1', { sw, ofport: 1, ip: '10.0.4.1/24', mac: '02:00:00:00:05:01' });
  const h2 = await lab.addHost('h2', { sw, ofport: 2, ip: '10.0.4.2/24', mac: '02:00:00:00:05:02' });
  await lab.addHost('h3', { sw, ofport: 3, ip: '10.0.4.3/24', mac: '02:00:00:00:05:03' });
  const c1 = await controllerFor(sw);
  let c1Stopped = false;
  t.teardown(() => (c1Stopped ? undefined : c1.stop()));
  const mirror = await c1.addMirror({ dpid: DPID, sourcePort: 2, targetPort: 3 });
  const redirect = await c1.addRedirect({
    dpid: DPID,
    ip: '10.0.4.9',
    fromPort: 2,
    toPort: 3,
    toMac: '02:00:00:00:05:03',
  });
  await h1.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', h2.ip]);
  const before = await ourFlows(sw);
  t.equal(before.length, 7, 'pipeline (2) + mirror (1 + 2 barrier echoes) + redirect (2) flows');

  // 1. reconnect with a stale flow of ours and a foreign flow on the switch
  await sw.addFlow('cookie=0x4e53010000000000,table=3,priority=7,actions=drop');
  await sw.addFlow('cookie=0x1234,table=5,priority=5,actions=drop');
  const again = nextEvent(c1, (e) => e.type === 'switch-connected');
  c1.session(DPID).close('test: forced reconnect');
  await again;
  t.same(await ourFlows(sw), before, 'reconnect: our flows as before, the stale one deleted');
  t.ok(
    (await sw.dumpFlows('table=5')).some((l) => l.includes('cookie=0x1234')),
    'a flow we do not own is left alone',
  );
  t.notOk(
    (await sw.dumpFlows('table=1')).some((l) => l.includes('priority=100')),
    'learnt flows flushed on reconnect',
  );

  // 2. controller restart: a new process knows nothing, finds its mirror and redirect on the switch
  await c1.stop();
  c1Stopped = true;
  const c2 = await controllerFor(sw, {}, t);
  t.same(await ourFlows(sw), before, 'controller restart: same flows');
  t.match(c2.listMirrors(), [{ id: mirror.id, dpid: DPID, sourcePort: 2, targetPort: 3 }], 'mirror adopted');
  t.match(
    c2.listRedirects(),
    [{ id: redirect.id, ip: '10.0.4.9', fromPort: 2, toPort: 3, toMac: '02:00:00:00:05:03' }],
    'redirect adopted',
  );
  await h1.exec('ping', ['-c', '1', '-W', '2', h2.ip]);

  // 3. ovs-vswitchd restart: the switch comes back empty and is brought to the desired state
  const reconnected = nextEvent(c2, (e) => e.type === 'switch-connected', 30_000);
  await restartVswitchd(sw);
  await reconnected;
  t.same(await ourFlows(sw), before, 'vswitchd restart: same flows');
  await h1.exec('ping', ['-c', '2', '-i', '0.2', '-W', '3', h2.ip]);
  t.pass('forwarding works after the vswitchd restart');
});
