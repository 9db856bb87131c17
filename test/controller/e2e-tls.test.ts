// TCP and TLS switch connections on real OVS: the controller runs as a process inside the
// switch's namespace; OVS connects with tcp:127.0.0.1:PORT, then with ssl: using its own key,
// certificate and CA (mutual TLS); hosts ping through the learnt flows either way.
import { join } from 'node:path';
import t from 'tap';
import { type Lab, type LabSwitch, run } from '../../topology/lab/index.js';
import { createTestLab } from '../helpers/lab.js';

const fixture = join(import.meta.dirname, 'fixtures', 'run-controller.ts');

async function makePki(dir: string): Promise<Record<string, string>> {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => run('openssl', args);
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=nonstop-test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  for (const who of ['controller', 'switch']) {
    await ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${who}`,
      '-keyout',
      f(`${who}.key`),
      '-out',
      f(`${who}.csr`),
    );
    await ssl(
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      f(`${who}.pem`),
    );
  }
  return {
    caCert: f('ca.pem'),
    ctlKey: f('controller.key'),
    ctlCert: f('controller.pem'),
    swKey: f('switch.key'),
    swCert: f('switch.pem'),
  };
}

function startController(lab: Lab, sw: LabSwitch, args: string[]) {
  const proc = lab.spawn(sw.ns, process.execPath, ['--import', 'tsx', fixture, ...args], {
    stdio: 'pipe',
    cwd: process.cwd(),
  });
  let out = '';
  let err = '';
  proc.child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const waitLine = async (re: RegExp, ms = 30_000) => {
    const end = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > end) throw new Error(`controller output never matched ${re}: ${out} ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { proc, waitLine, output: () => out };
}

t.test('OVS connects over TCP and over TLS', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: '00000000000000c7' });
  const h1 = await lab.addHost('h1', { sw, ofport: 1, ip: '10.0.7.1/24' });
  const h2 = await lab.addHost('h2', { sw, ofport: 2, ip: '10.0.7.2/24' });

  const tcp = startController(lab, sw, ['127.0.0.1', '6653']);
  await tcp.waitLine(/"listening"/);
  await sw.setController(['tcp:127.0.0.1:6653']);
  await tcp.waitLine(/"switch-connected","dpid":"00000000000000c7"/);
  await h1.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', h2.ip]);
  t.pass('TCP: switch connected, hosts ping');
  await tcp.proc.stop();

  const pki = await makePki(lab.dir);
  await sw.ovs.setSsl(pki.swKey, pki.swCert, pki.caCert);
  const tls = startController(lab, sw, ['127.0.0.1', '6654', pki.ctlKey, pki.ctlCert, pki.caCert]);
  t.teardown(() => tls.proc.stop());
  await tls.waitLine(/"listening"/);
  await sw.setController(['ssl:127.0.0.1:6654']);
  await tls.waitLine(/"switch-connected","dpid":"00000000000000c7"/);
  await h2.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', h1.ip]);
  t.pass('TLS (mutual, OVS ssl: target): switch connected, hosts ping');
  const flows = await sw.dumpFlows('table=1');
  t.ok(
    flows.some((l) => l.includes('priority=100')),
    'learnt flows installed over the TLS session',
  );
});
