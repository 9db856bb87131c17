// The addon's injectIp on a real kernel: a TCP segment inside a captured Ethernet frame, its
// checksum left zero, handed to the stack of the namespace the agent runs in, reaches a local
// listener as if it had come in on the wire (IPv4 and IPv6); a frame that holds no IP packet is
// refused with the reason.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createNsPair } from './netns-peers.js';

const here = dirname(fileURLToPath(import.meta.url));

t.test('a segment handed to the local stack reaches the listener (IPv4, IPv6)', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  const out = execFileSync(
    'ip',
    [
      'netns',
      'exec',
      ns.service,
      process.execPath,
      '--import',
      'tsx',
      join(here, 'fixtures', 'inject-probe.ts'),
      '7010',
      ns.serviceIp,
      ns.serviceIp6,
    ],
    { cwd: join(here, '..', '..'), encoding: 'utf8', timeout: 60_000 },
  );
  const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
    sent: number[];
    held: boolean[];
    error?: string;
  };
  t.same(r.sent, [44, 64], 'the IP packets were sent whole (IPv4 20 + 24, IPv6 40 + 24 bytes)');
  t.same(r.held, [true, true], 'the kernel took each SYN: the connections wait in SYN-RECV');
  t.match(r.error, /not an IP packet/, 'a frame without an IP packet is refused, with the reason');
});
