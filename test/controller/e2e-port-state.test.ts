// PORT_MOD on real OVS: down stops a host's traffic and OVS reports PORT_DOWN; up restores it;
// bounce takes it down for the given time and back, with port-status events for both.
import t from 'tap';
import type { ControllerEvent } from '../../controller/facade.js';
import { waitFor } from '../../topology/lab/index.js';
import { createTestLab } from '../helpers/lab.js';
import { controllerFor, portConfig } from './helpers.js';

const DPID = '00000000000000d1';

t.test('port down, up and bounce', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: DPID });
  const h1 = await lab.addHost('h1', { sw, ofport: 1, ip: '10.0.2.1/24', mac: '02:00:00:00:03:01' });
  const h2 = await lab.addHost('h2', { sw, ofport: 2, ip: '10.0.2.2/24', mac: '02:00:00:00:03:02' });
  const c = await controllerFor(sw, {}, t);
  const events: ControllerEvent[] = [];
  c.onEvent((e) => events.push(e));
  await h1.exec('ping', ['-c', '1', '-W', '2', h2.ip]);
  t.ok(
    (await sw.dumpFlows('table=1')).some((l) =>
      /priority=100,in_port=1,dl_dst=02:00:00:00:03:02 actions=output:2/.test(l),
    ),
    'learnt flow towards port 2 before the fence',
  );

  const down = await c.setPortState(DPID, 2, 'down');
  t.equal(down.adminDown, true, 'the controller reports the port administratively down');
  t.match(portConfig(await sw.ofctl('dump-ports-desc'), 2), /PORT_DOWN/, 'OVS reports PORT_DOWN');
  await waitFor(
    'learnt flows of the downed port deleted',
    async () => !(await sw.dumpFlows('table=1')).some((l) => /priority=100.*(in_port=2|output:2)/.test(l)),
    5000,
  );
  t.pass('learnt flows to and from the downed port are deleted');
  await t.rejects(h1.exec('ping', ['-c', '2', '-i', '0.3', '-W', '1', h2.ip]), 'traffic to the port stops');

  const up = await c.setPortState(DPID, 2, 'up');
  t.equal(up.adminDown, false);
  t.notMatch(
    portConfig(await sw.ofctl('dump-ports-desc'), 2),
    /PORT_DOWN/,
    'OVS no longer reports PORT_DOWN',
  );
  await h1.exec('ping', ['-c', '1', '-W', '3', h2.ip]);
  t.pass('traffic flows again');

  events.length = 0;
  const started = Date.now();
  const bounced = await c.setPortState(DPID, 2, 'bounce', 500);
  t.ok(Date.now() - started >= 500, 'bounce waited for the duration');
  t.equal(bounced.adminDown, false, 'up again after the bounce');
  // OVS sends PORT_STATUS asynchronously: the one for "up" may arrive after the reply.
  const seen = (adminDown: boolean) =>
    events.some((e) => e.type === 'port-status' && e.port.portNo === 2 && e.port.adminDown === adminDown);
  await waitFor('port-status event for down', () => seen(true), 3000);
  t.pass('port-status event for down');
  await waitFor('port-status event for up', () => seen(false), 3000);
  t.pass('port-status event for up');
  await h1.exec('ping', ['-c', '1', '-W', '3', h2.ip]);

  await t.rejects(c.setPortState(DPID, 77, 'down'), { name: 'NotFoundError' });
  await t.rejects(c.setPortState(DPID, 2, 'bounce', -5), { name: 'InvalidRequestError' });
  await t.rejects(c.setPortState(DPID, 2, 'sideways' as 'up'), { name: 'InvalidRequestError' });
});
