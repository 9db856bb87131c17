// Decode and encode rates of the OpenFlow codec on the hot-path messages.
// Run: ./nonstop bench openflow-codec   (or npx tsx bench/openflow-codec.ts)
import { performance } from 'node:perf_hooks';
import { decode, encode, flowMod, matchOf, type OfpMessage } from '../controller/openflow/index.js';

const frame = Buffer.alloc(64, 0xab);
const packetIn: OfpMessage = {
  type: 'packet_in',
  xid: 1,
  buffer_id: 0xffffffff,
  total_len: 64,
  reason: 0,
  table_id: 0,
  cookie: 0n,
  match: matchOf({ in_port: 3 }),
  data: frame,
};
const fm: OfpMessage = {
  ...flowMod({
    match: matchOf({ in_port: 1, eth_dst: '02:00:00:00:00:02', eth_type: 0x0800 }),
    actions: [
      { type: 'output', port: 2, max_len: 0 },
      { type: 'output', port: 3, max_len: 0 },
    ],
  }),
  xid: 2,
};
const flowReply: OfpMessage = {
  type: 'multipart_reply',
  xid: 3,
  flags: 0,
  body: {
    kind: 'flow',
    body: Array.from({ length: 100 }, (_, i) => ({
      table_id: 0,
      duration_sec: i,
      duration_nsec: 0,
      priority: 100,
      idle_timeout: 60,
      hard_timeout: 0,
      flags: 0,
      cookie: 0xabcdn,
      packet_count: BigInt(i),
      byte_count: BigInt(i * 100),
      match: matchOf({ in_port: 1, eth_dst: `02:00:00:00:00:${(i % 256).toString(16).padStart(2, '0')}` }),
      instructions: [
        { type: 'apply_actions' as const, actions: [{ type: 'output' as const, port: 2, max_len: 0 }] },
      ],
    })),
  },
};

function rate(fn: () => void, minMs = 1500): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    now = performance.now();
  }
  return (n / (now - start)) * 1000;
}

const rows: [string, number, number, number][] = [];
for (const [name, msg] of [
  ['PACKET_IN (64-byte frame)', packetIn],
  ['FLOW_MOD (3 OXM, 2 actions)', fm],
  ['MULTIPART FLOW reply (100 entries)', flowReply],
] as const) {
  const bytes = encode(msg);
  const dec = rate(() => decode(bytes));
  const enc = rate(() => encode(msg));
  rows.push([name, bytes.length, dec, enc]);
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
console.log(`node ${process.version}, one core\n`);
console.log(
  `${'message'.padEnd(36)} ${'bytes'.padStart(6)} ${'decode/s'.padStart(12)} ${'encode/s'.padStart(12)}`,
);
for (const [name, len, d, e] of rows)
  console.log(`${name.padEnd(36)} ${String(len).padStart(6)} ${fmt(d)} ${fmt(e)}`);
const target = rows[0][2] >= 1_000_000;
console.log(`\nPACKET_IN decode target >= 1,000,000/s: ${target ? 'met' : 'NOT met'}`);
