// TCP reset on real OVS: a RST with the client's exact rcv_nxt, sent by PACKET_OUT to the
// client's learnt port, ends its open connection with ECONNRESET; a RST with a wrong sequence
// number is ignored (the connection stays established). Over IPv4 and IPv6.
import { join } from 'node:path';
import t from 'tap';
import { parseIpv6 } from '../../controller/packets/addresses.js';
import { createTestLab } from '../helpers/lab.js';
import { controllerFor, sleep, startCapture } from './helpers.js';

const DPID = '00000000000000c1';

/** The client's rcv_nxt: end of the last segment the server sent it (IPv4 or IPv6 frames). */
function rcvNxt(frames: Buffer[], serverIp: string, serverPort: number): number {
  const v6 = serverIp.includes(':');
  const ip = v6 ? parseIpv6(serverIp) : Buffer.from(serverIp.split('.').map(Number));
  let next = -1;
  for (const f of frames) {
    let tcp: number;
    let payload: number;
    if (!v6 && f.readUInt16BE(12) === 0x0800 && f[23] === 6 && f.subarray(26, 30).equals(ip)) {
      tcp = 14 + (f[14] & 0x0f) * 4;
      payload = f.readUInt16BE(16) - (tcp - 14);
    } else if (v6 && f.readUInt16BE(12) === 0x86dd && f[20] === 6 && f.subarray(22, 38).equals(ip)) {
      tcp = 54;
      payload = f.readUInt16BE(18);
    } else continue;
    if (f.readUInt16BE(tcp) !== serverPort) continue;
    const doff = (f[tcp + 12] >> 4) * 4;
    const flags = f[tcp + 13];
    next =
      (f.readUInt32BE(tcp + 4) + (payload - doff) + (flags & 0x02 ? 1 : 0) + (flags & 0x01 ? 1 : 0)) >>> 0;
  }
  return next;
}

for (const family of ['IPv4', 'IPv6'] as const)
  t.test(`${family}: RST ends a client connection only with the right sequence number`, async (t) => {
    const lab = await createTestLab(t);
    const sw = await lab.addSwitch('s1', { dpid: DPID });
    const client = await lab.addHost('cli', { sw, ofport: 1, ip: '10.0.1.1/24', mac: '02:00:00:00:02:01' });
    const server = await lab.addHost('srv', { sw, ofport: 2, ip: '10.0.1.2/24', mac: '02:00:00:00:02:02' });
    const c = await controllerFor(sw, {}, t);
    const v6 = family === 'IPv6';
    const clientIp = v6 ? 'fd00:1::1' : client.ip;
    const serverIp = v6 ? 'fd00:1::2' : server.ip;
    if (v6) {
      await client.exec('ip', ['-6', 'addr', 'add', `${clientIp}/64`, 'dev', client.ifname, 'nodad']);
      await server.exec('ip', ['-6', 'addr', 'add', `${serverIp}/64`, 'dev', server.ifname, 'nodad']);
    }
    const srv = server.spawn('python3', [
      '-c',
      `
import socket
s=socket.create_server(('${serverIp}', 7100), family=socket.AF_INET6 if ':' in '${serverIp}' else socket.AF_INET)
c,_=s.accept(); f=c.makefile('rb')
for line in f: c.sendall(line)
`,
    ]);
    t.teardown(() => srv.stop());

    const cap = await startCapture(client, join(lab.dir, 'client.pcap'), 'tcp port 7100');
    const cli = client.spawn(
      'python3',
      [
        '-u',
        '-c',
        `
import socket, time
for i in range(50):
    try:
        s=socket.create_connection(('${serverIp}', 7100), timeout=5); break
    except OSError: time.sleep(0.1)
print('port', s.getsockname()[1]); s.sendall(b'hello\\n'); s.recv(100); print('ready')
s.settimeout(30)
try:
    d = s.recv(100); print('EOF' if not d else 'DATA')
except ConnectionResetError: print('ECONNRESET')
except socket.timeout: print('TIMEOUT')
`,
      ],
      { stdio: 'pipe' },
    );
    t.teardown(() => cli.stop());
    let out = '';
    cli.child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const until = async (re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(out); i++) await sleep(50);
      if (!re.test(out)) throw new Error(`client output ${JSON.stringify(out)} never matched ${re}`);
    };
    await until(/ready/);
    const clientPort = Number(/port (\d+)/.exec(out)?.[1]);
    await sleep(300);
    const seq = rcvNxt(await cap.stop(), serverIp, 7100);
    t.ok(seq >= 0, `client rcv_nxt from the capture: ${seq}`);

    const spec = { srcIp: serverIp, srcPort: 7100, dstIp: clientIp, dstPort: clientPort };
    const wrong = await c.tcpReset(DPID, { ...spec, seq: (seq + 5000) >>> 0 });
    t.equal(wrong.outPort, 1, 'sent to the port where the client was learnt');
    await sleep(500);
    t.notMatch(out, /ECONNRESET|EOF/, 'a RST with a wrong sequence number is ignored');
    const ss = await client.exec('ss', ['-tn', 'state', 'established', `( dport = :7100 )`]);
    t.match(ss.stdout, v6 ? `[${serverIp}]:7100` : `${serverIp}:7100`, 'connection still established');

    const right = await c.tcpReset(DPID, { ...spec, seq });
    t.match(right.frameHex, /^020000000201020000000202/, 'frame addressed to the client from the server MAC');
    await until(/ECONNRESET|EOF|DATA|TIMEOUT/);
    t.match(out, /ECONNRESET/, 'the client got ECONNRESET');

    await t.rejects(
      c.tcpReset(DPID, { ...spec, dstIp: v6 ? 'fd00:1::99' : '10.0.1.99', seq }),
      { name: 'InvalidRequestError' },
      'unknown client without outPort',
    );
    await t.rejects(
      c.tcpReset(DPID, { ...spec, seq, outPort: 42 }),
      { name: 'NotFoundError' },
      'unknown port',
    );
    await t.rejects(c.tcpReset(DPID, { ...spec, srcPort: 0, seq }), { name: 'InvalidRequestError' });
    await t.rejects(c.tcpReset('00000000000000ff', { ...spec, seq }), { name: 'NotFoundError' });
  });
