// Capture markers on real OVS: a fence (PORT_MOD) or a redirect asked with a captureMarker is
// followed, before it is confirmed, by the marker out of the standby's port, where the agent's
// decoder reads it as the switch's echo of a capture barrier with the token asked for. A marker
// for a port that does not exist, or with a bad token, is refused before anything is changed.
import { join } from 'node:path';
import t from 'tap';
import { isBarrier, isEcho } from '../../standby-agent/capture/barrier.js';
import { decodeInto, TcpSegment } from '../../standby-agent/decode/frame.js';
import { createTestLab } from '../helpers/lab.js';
import { controllerFor, startCapture } from './helpers.js';

const DPID = '00000000000000c7';
const SERVICE_IP = '10.0.7.2';

/** the tokens of the barrier markers among `frames` that decode as the switch's echo */
function echoedTokens(frames: Buffer[]): number[] {
  const seg = new TcpSegment();
  return frames.flatMap((f) =>
    decodeInto(seg, f, 0, f.length) === undefined && isBarrier(seg) && isEcho(seg) ? [seg.seq] : [],
  );
}

t.test('a fence and a redirect send the capture marker asked for to the standby port', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: DPID });
  const client = await lab.addHost('cli', { sw, ofport: 1, ip: '10.0.7.1/24', mac: '02:00:00:00:07:01' });
  await lab.addHost('svc', { sw, ofport: 2, ip: `${SERVICE_IP}/24`, mac: '02:00:00:00:07:02' });
  const standby = await lab.addHost('stb', { sw, ofport: 3, ip: '10.0.7.3/24', mac: '02:00:00:00:07:03' });
  const c = await controllerFor(sw, {}, t);
  await client.exec('ping', ['-c', '1', '-W', '2', SERVICE_IP]);
  await c.addMirror({ dpid: DPID, sourcePort: 2, targetPort: 3 });
  const capture = await startCapture(
    standby,
    join(lab.dir, 'markers.pcap'),
    `tcp port 9 and host ${SERVICE_IP}`,
  );

  await t.rejects(
    c.setPortState(DPID, 2, 'down', undefined, { port: 9, ip: SERVICE_IP, token: 1 }),
    { name: 'NotFoundError' },
    'a marker for a missing port is refused',
  );
  t.equal(c.getSwitch(DPID).ports.find((p) => p.portNo === 2)?.adminDown, false, '...and the port left up');
  await t.rejects(
    c.setPortState(DPID, 2, 'down', undefined, { port: 3, ip: SERVICE_IP, token: 2 ** 32 }),
    { name: 'InvalidRequestError' },
    'a token beyond 32 bits is refused',
  );
  await t.rejects(
    c.addRedirect(
      { dpid: DPID, ip: SERVICE_IP, fromPort: 2, toPort: 3, toMac: '02:00:00:00:07:03' },
      { port: 3, ip: 'nope', token: 3 },
    ),
    { name: 'InvalidRequestError' },
    'a marker without an IP address is refused',
  );
  t.same(c.listRedirects(), [], '...and no redirect installed');

  const down = await c.setPortState(DPID, 2, 'down', undefined, {
    port: 3,
    ip: SERVICE_IP,
    token: 0xc0ffee01,
  });
  t.equal(down.adminDown, true, 'the fence applied');
  const r = await c.addRedirect(
    { dpid: DPID, ip: SERVICE_IP, fromPort: 2, toPort: 3, toMac: '02:00:00:00:07:03' },
    { port: 3, ip: SERVICE_IP, token: 0xc0ffee02 },
  );
  t.notOk('captureMarker' in r, 'the redirect as reported does not keep the marker');
  const tokens = echoedTokens(await capture.stop());
  t.same(tokens, [0xc0ffee01, 0xc0ffee02], 'one marker per change, in order, read as echoed barriers');
});
