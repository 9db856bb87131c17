// The snapshot's barrier on real OVS: when the service's frames came through the switch after
// the mark taken at the fence, the agent sends another marker and stops at the first that comes
// back with none of them before it; with none since the mark, one marker does. The service's
// frames are raw TCP segments from its address, sent into its port. (Frames that never stop are
// the unit test's: sent from outside, a sender paused by the scheduler makes a quiet round.)
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { BarrierResult } from '../../standby-agent/capture/barrier.js';
import { controllerFor, sleep } from '../controller/helpers.js';
import { createTestLab } from '../helpers/lab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DPID = '00000000000000b7';

/** python3: `count` TCP ACKs from SRC:80 to a client that does not exist, `burst` at a time,
 *  0.2 ms apart */
const sender = (ifname: string, srcMac: string, srcIp: string, count: number, burst: number) => `
import socket, struct, time
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
mac = lambda m: bytes(int(x, 16) for x in m.split(':'))
ipb = lambda a: bytes(int(x) for x in a.split('.'))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('${ifname}', 0))
n = 0
while n < ${count}:
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, n & 0xffff, 0, 64, 6, 0, ipb('${srcIp}'), ipb('10.0.0.99'))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    tcp = struct.pack('!HHIIBBHHH', 80, 40000, 1000 + n, 1, 0x50, 0x10, 1000, 0, 0)
    s.send(mac('02:00:00:00:01:99') + mac('${srcMac}') + b'\\x08\\x00' + ip + tcp)
    n += 1
    if n % ${burst} == 0: time.sleep(0.0002)
`;

t.test('the snapshot barrier waits until the fenced service stops sending, on real OVS', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: DPID });
  const svcMac = '02:00:00:00:01:02';
  await lab.addHost('cli', { sw, ofport: 1, ip: '10.0.0.1/24', mac: '02:00:00:00:01:01' });
  const svc = await lab.addHost('svc', { sw, ofport: 2, ip: '10.0.0.2/24', mac: svcMac });
  const stb = await lab.addHost('stb', { sw, ofport: 3, ip: '10.0.0.3/24', mac: '02:00:00:00:01:03' });
  const c = await controllerFor(sw, {}, t);
  await c.addMirror({ dpid: DPID, sourcePort: 2, targetPort: 3 });

  const probe = spawn(
    'ip',
    [
      'netns',
      'exec',
      stb.ns,
      process.execPath,
      '--import',
      'tsx',
      join(root, 'test/agent/fixtures/quiet-barrier-probe.ts'),
      stb.ifname,
      svc.ip,
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.teardown(() => {
    probe.kill('SIGKILL');
  });
  const lines = createInterface({ input: probe.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value ?? '{}');
  const ask = async (cmd: string) => {
    probe.stdin.write(`${cmd}\n`);
    return next();
  };
  t.match(await next(), { ready: true }, 'the probe captures');

  // a) frames came after the mark, then stopped: one more marker, and it finds none
  const { mark } = await ask('mark');
  await svc.exec('python3', ['-c', sender(svc.ifname, svcMac, svc.ip, 20, 1)]);
  await sleep(100);
  const settled = (await ask('barrier')) as BarrierResult;
  t.match(
    settled,
    { ok: true, rounds: 2, lateServiceFrames: 0, quiet: true },
    'a second marker, with none before it',
  );
  const after = await ask('mark');
  t.ok(after.mark - mark >= 20, `the probe tracked the ${after.mark - mark} frames sent after the mark`);

  // b) nothing of the service since the mark: one marker, as a plain barrier
  t.match(await ask('barrier'), { ok: true, rounds: 1, quiet: true }, 'one marker');
  probe.stdin.end();
});
