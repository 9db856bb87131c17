// The daemons' shutdown helper: one stop per signal burst, and the exit code says how it went.
import t from 'tap';
import { untilSignal } from '../../controller/api/until-signal.js';
import { quietLogger } from './helpers.js';

t.test('SIGTERM runs stop once: 0', async (t) => {
  let stops = 0;
  const code = untilSignal(async () => {
    stops++;
  }, quietLogger());
  process.emit('SIGTERM');
  process.emit('SIGINT'); // a second signal while stopping does not stop twice
  t.equal(await code, 0);
  t.equal(stops, 1);
});

t.test('a failing stop: 1', async (t) => {
  const code = untilSignal(async () => {
    throw new Error('boom');
  }, quietLogger());
  process.emit('SIGINT');
  t.equal(await code, 1);
  process.emit('SIGTERM'); // the listener left behind by once() is consumed
});

t.test('a stop that hangs: 1 after the grace period', async (t) => {
  const started = Date.now();
  const alive = setInterval(() => {}, 1000); // the grace timer does not hold the process
  t.teardown(() => clearInterval(alive));
  const code = untilSignal(() => new Promise<void>(() => {}), quietLogger(), 100);
  process.emit('SIGTERM');
  t.equal(await code, 1);
  t.ok(Date.now() - started >= 100);
  process.emit('SIGINT');
});
