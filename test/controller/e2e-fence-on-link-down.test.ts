// The controller's own fence on real OVS: a mirrored port whose mirror asks for it
// (fenceOnLinkDown) is taken down by PORT_MOD as soon as its link goes down, a port-fenced event
// says so, and a standby's fence request then waits for that fence instead of sending another.
// Not without the setting, and not while nobody follows the events.
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import type { ControllerEvent } from '../../controller/facade.js';
import { waitFor } from '../../topology/lab/index.js';
import { createTestLab } from '../helpers/lab.js';
import { controllerFor, nextEvent, portConfig, sleep } from './helpers.js';

const DPID = '00000000000000e1';

t.test('a mirrored port is fenced by the controller when its link goes down', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: DPID });
  const client = await lab.addHost('cli', { sw, ofport: 1, ip: '10.0.7.1/24', mac: '02:00:00:00:07:01' });
  const service = await lab.addHost('svc', { sw, ofport: 2, ip: '10.0.7.2/24', mac: '02:00:00:00:07:02' });
  await lab.addHost('stb', { sw, ofport: 3, ip: '10.0.7.3/24', mac: '02:00:00:00:07:03' });
  // the controller's log lines, to see which fences sent a PORT_MOD
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const c = await controllerFor(sw, { logger: pino({ level: 'info' }, sink) }, t);
  const events: ControllerEvent[] = [];
  const unsubscribe = c.onEvent((e) => events.push(e));
  const fencedEvents = () => events.filter((e) => e.type === 'port-fenced');
  const adminDown = async (port: number) =>
    /PORT_DOWN/.test(portConfig(await sw.ofctl('dump-ports-desc'), port));
  const linkSeenDown = (port: number, down: boolean) => () =>
    c.getSwitch(DPID).ports.find((p) => p.portNo === port)?.linkDown === down;

  const fencing = await c.addMirror({ dpid: DPID, sourcePort: 2, targetPort: 3, fenceOnLinkDown: true });
  t.equal(fencing.fenceOnLinkDown, true);
  const plain = await c.addMirror({ dpid: DPID, sourcePort: 1, targetPort: 3 });
  t.equal(plain.fenceOnLinkDown, false, 'off unless asked');

  // a mirror without the setting: its source's link goes down, nothing is fenced
  await client.exec('ip', ['link', 'set', client.ifname, 'down']);
  await waitFor('port 1 reported without link', linkSeenDown(1, true), 5000);
  await sleep(300);
  t.notOk(await adminDown(1), 'port 1 not fenced: its mirror did not ask');
  t.same(fencedEvents(), [], 'no port-fenced event');
  await client.exec('ip', ['link', 'set', client.ifname, 'up']);

  // with the setting, and someone following the events: fenced at once, and said so
  const fencedEvent = nextEvent(c, (e) => e.type === 'port-fenced', 5000);
  await service.exec('ip', ['link', 'set', service.ifname, 'down']);
  const e = await fencedEvent;
  t.match(e, { type: 'port-fenced', dpid: DPID, reason: 'link down', port: { portNo: 2, adminDown: true } });
  t.ok(await adminDown(2), 'OVS reports PORT_DOWN on port 2');
  t.equal(fencedEvents().length, 1, 'one port-fenced event');
  const portModsBefore = lines.filter((l) => l.msg === 'port state set').length;
  const info = await c.setPortState(DPID, 2, 'down');
  t.equal(info.adminDown, true, "the standby's fence request is answered: down");
  const answer = lines.filter((l) => l.msg === 'port state set').at(-1);
  t.equal(answer?.byLinkDown, true, 'answered by the fence already made (no second PORT_MOD)');
  t.equal(lines.filter((l) => l.msg === 'port state set').length, portModsBefore + 1);
  t.ok(
    lines.some((l) => l.msg === 'mirrored port fenced on link down' && l.portNo === 2),
    'the controller logged its fence',
  );

  // brought back by request: up again, and its link too
  const up = await c.setPortState(DPID, 2, 'up');
  t.equal(up.adminDown, false);
  t.notOk(await adminDown(2), 'PORT_DOWN cleared');
  await service.exec('ip', ['link', 'set', service.ifname, 'up']);
  await waitFor('port 2 reported with link', linkSeenDown(2, false), 5000);
  await service.exec('ping', ['-c', '1', '-W', '3', client.ip]);
  t.pass('traffic flows again');

  // the next link-down fences anew
  const again = nextEvent(c, (e) => e.type === 'port-fenced', 5000);
  await service.exec('ip', ['link', 'set', service.ifname, 'down']);
  await again;
  t.equal(fencedEvents().length, 2, 'a second link-down, a second fence');
  await c.setPortState(DPID, 2, 'up');
  await service.exec('ip', ['link', 'set', service.ifname, 'up']);
  await waitFor('port 2 reported with link', linkSeenDown(2, false), 5000);

  // nobody follows the events: no fence (it would keep the port down with no standby told)
  unsubscribe();
  await service.exec('ip', ['link', 'set', service.ifname, 'down']);
  await waitFor('port 2 reported without link', linkSeenDown(2, true), 5000);
  await sleep(300);
  t.notOk(await adminDown(2), 'not fenced without a listener');
  t.equal(fencedEvents().length, 2, 'no new port-fenced event');
});
