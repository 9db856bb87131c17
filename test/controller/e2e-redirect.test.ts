// Redirect on real OVS: once addRedirect resolves (barrier), new connections to the service IP
// reach the standby (eth_dst rewritten to its MAC), ARP for the IP is answered by the standby;
// removing the redirect sends traffic back to the service.
import t from 'tap';
import { createTestLab } from '../helpers/lab.js';
import type { LabHost } from '../../topology/lab/index.js';
import { controllerFor } from './helpers.js';

const DPID = '00000000000000e1';
const SERVICE_IP = '10.0.3.2';

function banner(host: LabHost, text: string) {
  return host.spawn('python3', [
    '-c',
    `
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${SERVICE_IP}', 8000)); s.listen(16)
while True:
    c,_=s.accept(); c.sendall(b'${text}\\n'); c.close()
`,
  ]);
}

async function ask(client: LabHost): Promise<string> {
  const r = await client.exec('python3', [
    '-c',
    `
import socket, time
for i in range(40):
    try:
        s=socket.create_connection(('${SERVICE_IP}', 8000), timeout=3); break
    except OSError: time.sleep(0.1)
print(s.makefile().readline().strip())
`,
  ]);
  return r.stdout.trim();
}

t.test('redirect a service IP to the standby and back', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: DPID });
  const client = await lab.addHost('cli', { sw, ofport: 1, ip: '10.0.3.1/24', mac: '02:00:00:00:04:01' });
  const service = await lab.addHost('svc', {
    sw,
    ofport: 2,
    ip: `${SERVICE_IP}/24`,
    mac: '02:00:00:00:04:02',
  });
  const standby = await lab.addHost('stb', { sw, ofport: 3, ip: '10.0.3.3/24', mac: '02:00:00:00:04:03' });
  const c = await controllerFor(sw, {}, t);
  const svc = banner(service, 'service');
  t.teardown(() => svc.stop());
  t.equal(await ask(client), 'service', 'before: the service answers');

  // the standby takes over the address (as the agent does at failover), then the redirect
  await standby.exec('ip', ['addr', 'add', `${SERVICE_IP}/32`, 'dev', standby.ifname]);
  const stb = banner(standby, 'standby');
  t.teardown(() => stb.stop());
  const r = await c.addRedirect({
    dpid: DPID,
    ip: SERVICE_IP,
    fromPort: 2,
    toPort: 3,
    toMac: '02:00:00:00:04:03',
  });
  t.match(r, { id: /^r\d+$/, ip: SERVICE_IP, toPort: 3 });
  const flows = await sw.dumpFlows('table=0');
  t.ok(
    flows.some((l) =>
      /priority=300,ip,nw_dst=10\.0\.3\.2 actions=set_field:02:00:00:00:04:03->eth_dst,output:3/.test(l),
    ),
    'IPv4 redirect flow in force when the call returns',
  );
  t.ok(
    flows.some((l) => /priority=300,arp,arp_tpa=10\.0\.3\.2 actions=output:3/.test(l)),
    'ARP redirect flow in force',
  );
  t.ok(
    (await sw.dumpFlows('table=1')).some((l) =>
      /priority=100,in_port=3,dl_dst=02:00:00:00:04:01 actions=output:1/.test(l),
    ),
    'the standby port is switched to the known client before it sends anything',
  );
  t.equal(
    await ask(client),
    'standby',
    'after: the standby answers (client ARP cache still has the service MAC)',
  );

  await client.exec('ip', ['neigh', 'flush', 'dev', client.ifname]);
  await client.exec('ping', ['-c', '1', '-W', '2', SERVICE_IP]);
  const neigh = await client.exec('ip', ['neigh', 'show', SERVICE_IP]);
  t.match(neigh.stdout, /02:00:00:00:04:03/, 'ARP for the service IP is answered by the standby');

  await t.rejects(
    c.addRedirect({ dpid: DPID, ip: SERVICE_IP, fromPort: 2, toPort: 3, toMac: '02:00:00:00:04:03' }),
    {
      name: 'InvalidRequestError',
    },
  );
  await t.rejects(
    c.addRedirect({ dpid: DPID, ip: 'not-an-ip', fromPort: 2, toPort: 3, toMac: '02:00:00:00:04:03' }),
    {
      name: 'InvalidRequestError',
    },
  );
  await t.rejects(
    c.addRedirect({ dpid: DPID, ip: '10.0.3.9', fromPort: 2, toPort: 9, toMac: '02:00:00:00:04:03' }),
    {
      name: 'NotFoundError',
    },
  );

  await c.removeRedirect(r.id);
  t.same(c.listRedirects(), []);
  await t.rejects(c.removeRedirect(r.id), { name: 'NotFoundError' });
  t.notOk(
    (await sw.dumpFlows('table=0')).some((l) => l.includes('priority=300')),
    'redirect flows removed',
  );
  await standby.exec('ip', ['addr', 'del', `${SERVICE_IP}/32`, 'dev', standby.ifname]);
  await client.exec('ip', ['neigh', 'flush', 'dev', client.ifname]);
  t.equal(await ask(client), 'service', 'after removal: the service answers again');
});
