// The frame decoder and pcap reader on byte fixtures: VLAN/QinQ, IPv4 options, IPv6 extension
// headers, TCP options incl. SACK blocks; malformed frames come back as reasons, never throws.
import t from 'tap';
import { PcapFormatError, PcapWriter, readPcap } from '../../standby-agent/capture/pcap-file.js';
import { decodeFrame, TCP_ACK, TCP_SYN, type TcpSegment } from '../../standby-agent/decode/frame.js';
import { Pipeline } from '../../standby-agent/pipeline.js';
import { ConnectionTable } from '../../standby-agent/tracking/connection-table.js';
import { tcpFrame } from '../fixtures/crafted/tcp-frames.js';

const base = { src: '10.0.0.1', dst: '10.0.0.10', sport: 40000, dport: 80, seq: 0xfffffff0 };

function seg(frame: Buffer): TcpSegment {
  const r = decodeFrame(frame);
  if (typeof r === 'string') throw new Error(`decode failed: ${r}`);
  return r;
}

t.test('IPv4 SYN with every option', async (t) => {
  const s = seg(
    tcpFrame({
      ...base,
      flags: 'S',
      mss: 1460,
      wscale: 7,
      sackPermitted: true,
      ts: [0xdeadbeef, 0],
      window: 64240,
    }),
  );
  t.equal(s.family, 4);
  t.equal(s.src, '10.0.0.1');
  t.equal(s.dst, '10.0.0.10');
  t.equal(s.srcPort, 40000);
  t.equal(s.dstPort, 80);
  t.equal(s.seq, 0xfffffff0, 'u32 sequence, not negative');
  t.equal(s.flags, TCP_SYN);
  t.equal(s.window, 64240);
  t.same(s.options, { mss: 1460, wscale: 7, sackPermitted: true, tsVal: 0xdeadbeef, tsEcr: 0 });
  t.equal(s.payload.length, 0);
});

t.test('payload is a zero-copy view; SACK blocks decoded', async (t) => {
  const f = tcpFrame({
    ...base,
    flags: 'PA',
    ack: 7,
    payload: 'hello',
    sack: [100, 200, 300, 400],
    ts: [1, 2],
  });
  const s = seg(f);
  t.equal(s.flags, TCP_ACK | 0x08);
  t.equal(s.payload.toString(), 'hello');
  t.equal(s.payload.buffer, f.buffer, 'shares the frame memory');
  t.same(s.options.sack, [100, 200, 300, 400]);
  t.equal(s.options.tsEcr, 2);
});

t.test('802.1Q and QinQ tags', async (t) => {
  t.equal(seg(tcpFrame({ ...base, flags: 'A', vlans: [42] })).dstPort, 80);
  const q = seg(tcpFrame({ ...base, flags: 'PA', payload: 'x', vlans: [100, 42] }));
  t.equal(q.payload.toString(), 'x');
});

t.test('IPv6, also behind a hop-by-hop extension header', async (t) => {
  const f = tcpFrame({ ...base, src: 'fd00::1', dst: 'fd00:0:0:1::a', flags: 'PA', payload: 'v6' });
  const s = seg(f);
  t.equal(s.family, 6);
  t.equal(s.src, 'fd00::1');
  t.equal(s.dst, 'fd00:0:0:1::a');
  t.equal(s.payload.toString(), 'v6');
  // insert an 8-byte hop-by-hop header: next header TCP
  const ext = Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]);
  const withExt = Buffer.concat([f.subarray(0, 54), ext, f.subarray(54)]);
  withExt[14 + 6] = 0;
  withExt.writeUInt16BE(withExt.readUInt16BE(14 + 4) + 8, 14 + 4);
  const e = seg(withExt);
  t.equal(e.payload.toString(), 'v6');
  t.equal(e.dstPort, 80);
});

t.test('IPv4 header options are skipped', async (t) => {
  const f = tcpFrame({ ...base, flags: 'PA', payload: 'opt' });
  const nop4 = Buffer.from([1, 1, 1, 1]);
  const g = Buffer.concat([f.subarray(0, 34), nop4, f.subarray(34)]);
  g[14] = 0x46;
  g.writeUInt16BE(g.readUInt16BE(16) + 4, 16);
  t.equal(seg(g).payload.toString(), 'opt');
});

t.test('malformed frames are reasons, not exceptions', async (t) => {
  const good = tcpFrame({ ...base, flags: 'PA', payload: 'abc', mss: 1460 });
  t.equal(decodeFrame(good.subarray(0, 10)), 'truncated-ethernet');
  const arp = Buffer.from(good);
  arp.writeUInt16BE(0x0806, 12);
  t.equal(decodeFrame(arp), 'not-ip');
  t.equal(decodeFrame(good.subarray(0, 30)), 'truncated-ip');
  t.equal(decodeFrame(good.subarray(0, good.length - 1)), 'truncated-ip');
  const v = Buffer.from(good);
  v[14] = 0x35;
  t.equal(decodeFrame(v), 'bad-ip-header');
  const frag = Buffer.from(good);
  frag.writeUInt16BE(0x2000, 20); // more fragments
  t.equal(decodeFrame(frag), 'ip-fragment');
  const udp = Buffer.from(good);
  udp[23] = 17;
  t.equal(decodeFrame(udp), 'not-tcp');
  const off = Buffer.from(good);
  off[34 + 12] = 0x40; // data offset 16 bytes
  t.equal(decodeFrame(off), 'bad-tcp-header');
  const opt = Buffer.from(good);
  opt[34 + 20 + 1] = 9; // MSS option with length 9
  t.equal(decodeFrame(opt), 'bad-tcp-options');
  // random garbage never throws
  let seed = 1;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed & 255;
  };
  for (let i = 0; i < 2000; i++) {
    const f = Buffer.from(good);
    for (let k = 0; k < 4; k++) f[14 + (rnd() % (f.length - 14))] = rnd();
    decodeFrame(f.subarray(0, 14 + (rnd() % (f.length - 13))));
  }
  t.pass('2000 mutated frames decoded without throwing');
});

t.test('pipeline counts skipped frames by reason', async (t) => {
  const table = new ConnectionTable({ services: [{ ip: '10.0.0.10', port: 80 }] });
  const p = new Pipeline(table, () => 0);
  const good = tcpFrame({ ...base, flags: 'S', mss: 1460 });
  const arp = Buffer.from(good);
  arp.writeUInt16BE(0x0806, 12);
  for (const f of [good, arp, arp, good.subarray(0, 5)]) p.onFrame({ tsMs: 0, data: f, origLen: f.length });
  t.equal(p.frames, 4);
  t.same(p.skipped, { 'not-ip': 2, 'truncated-ethernet': 1 });
  t.equal(table.size, 1);
});

t.test('pcap reader: both byte orders, micro and nano seconds; bad files rejected', async (t) => {
  const frame = tcpFrame({ ...base, flags: 'S' });
  const w = new PcapWriter();
  w.add(1_700_000_000_123.456, frame);
  const le = w.toBuffer();
  const [a] = [...readPcap(le)];
  t.ok(Math.abs(a.tsMs - 1_700_000_000_123.456) < 0.002);
  t.ok(a.data.equals(frame));
  // the same file big-endian with nanosecond stamps
  const be = Buffer.alloc(le.length);
  be.writeUInt32BE(0xa1b23c4d, 0);
  be.writeUInt16BE(2, 4);
  be.writeUInt16BE(4, 6);
  be.writeUInt32BE(262144, 16);
  be.writeUInt32BE(1, 20);
  be.writeUInt32BE(1_700_000_000, 24);
  be.writeUInt32BE(123_456_000, 28);
  be.writeUInt32BE(frame.length, 32);
  be.writeUInt32BE(frame.length, 36);
  frame.copy(be, 40);
  const [b] = [...readPcap(be)];
  t.ok(Math.abs(b.tsMs - 1_700_000_000_123.456) < 0.002, `${b.tsMs}`);
  t.ok(b.data.equals(frame));
  t.throws(() => [...readPcap(Buffer.alloc(10))], PcapFormatError);
  t.throws(() => [...readPcap(Buffer.alloc(24, 7))], PcapFormatError);
  // a truncated last record is not an exception
  t.equal([...readPcap(le.subarray(0, le.length - 3))].length, 0);
});
