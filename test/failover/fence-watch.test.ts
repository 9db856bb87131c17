// FenceWatch: the controller's port-fenced event counts for the link-down it follows, not for a
// later one, nor once the link is back.
import t from 'tap';
import { FenceWatch } from '../../standby-agent/failover/fence-watch.js';

const DPID = '00000000000000f1';
const status = (linkDown: boolean, adminDown: boolean, portNo = 2, dpid = DPID) => ({
  type: 'port-status',
  dpid,
  at: '',
  reason: 'modify',
  port: { portNo, name: 'svc', linkDown, adminDown },
});
const fenced = (portNo = 2, dpid = DPID) => ({ ...status(true, true, portNo, dpid), type: 'port-fenced' });
const settledSoon = async (p: Promise<void>) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);

t.test('a fence seen during the current link-down, and only then', async (t) => {
  const w = new FenceWatch(DPID, 2);
  t.notOk(await settledSoon(w.whenFenced()), 'nothing seen yet');
  w.controllerEvent(fenced());
  t.notOk(await settledSoon(w.whenFenced()), 'a port-fenced event without a link-down first does not count');

  w.controllerEvent(status(true, false));
  const waiting = w.whenFenced();
  w.controllerEvent(fenced(3));
  w.controllerEvent(fenced(2, '00000000000000f2'));
  t.notOk(await settledSoon(waiting), 'another port or switch: not ours');
  w.controllerEvent(fenced());
  t.ok(await settledSoon(waiting), 'a waiter is told when the event comes');
  t.ok(await settledSoon(w.whenFenced()), 'and a later caller at once');
  w.controllerEvent(status(true, true));
  t.ok(await settledSoon(w.whenFenced()), 'the switch reporting the port down and fenced keeps it');

  w.controllerEvent(status(false, true));
  t.notOk(await settledSoon(w.whenFenced()), 'the link is back: the old fence does not count');
  w.controllerEvent(status(true, false));
  t.notOk(await settledSoon(w.whenFenced()), 'a new link-down waits for its own fence');
  w.controllerEvent(status(true, true));
  w.controllerEvent(fenced());
  t.ok(await settledSoon(w.whenFenced()));
  w.controllerEvent({ type: 'switch-connected', dpid: DPID, at: '' });
  w.controllerEvent(null);
  t.ok(await settledSoon(w.whenFenced()), 'other events change nothing');
});
