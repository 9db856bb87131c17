// Version negotiation with a real OVS that only speaks OpenFlow 1.0: the controller answers
// HELLO_FAILED, says why in its log, and never registers the switch. Switching the bridge to
// OpenFlow 1.3 then connects normally.
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { Controller } from '../../controller/controller.js';
import { waitFor } from '../../topology/lab/index.js';
import { createTestLab } from '../helpers/lab.js';
import { nextEvent } from './helpers.js';

t.test('an OpenFlow 1.0-only switch is refused with HELLO_FAILED', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: '00000000000000a9' });
  await sw.ovs.vsctl('set', 'bridge', sw.bridge, 'protocols=OpenFlow10');
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const c = new Controller({
    logger: pino({ level: 'info' }, sink),
    registry: new Registry(),
    ofListen: { path: sw.controllerSocket },
  });
  await c.start();
  t.teardown(() => c.stop());
  await sw.setController([`unix:${sw.controllerSocket}`]);
  await waitFor(
    'HELLO_FAILED in the controller log',
    async () => lines.some((l) => l.includes('HELLO_FAILED')),
    15_000,
  );
  const line = JSON.parse(lines.find((l) => l.includes('HELLO_FAILED')) ?? '{}');
  t.match(
    line.reason,
    /OpenFlow 1\.3 \(wire version 4\) only; switch offered version\(s\) 1/,
    'the log says what was offered',
  );
  t.same(c.listSwitches(), [], 'the 1.0 switch is not registered');

  const connected = nextEvent(c, (e) => e.type === 'switch-connected');
  await sw.ovs.vsctl('set', 'bridge', sw.bridge, 'protocols=OpenFlow13');
  t.match(await connected, { dpid: '00000000000000a9' }, 'the same bridge speaking 1.3 connects');
});
