// The RST builder: layout and checksums (IPv4 and IPv6), checked by re-summing with the
// pseudo-header, which gives 0xffff for a correct checksum.
import t from 'tap';
import { onesComplementSum } from '../../controller/packets/checksum.js';
import { buildTcpRst } from '../../controller/packets/tcp-rst.js';

t.test('IPv4 RST', async (t) => {
  const f = buildTcpRst({
    srcMac: '02:00:00:00:00:02',
    dstMac: '02:00:00:00:00:01',
    srcIp: '10.0.0.2',
    dstIp: '10.0.0.1',
    srcPort: 80,
    dstPort: 40000,
    seq: 0xdeadbeef,
  });
  t.equal(f.length, 54);
  t.equal(f.readUInt16BE(12), 0x0800);
  t.equal(f.subarray(0, 6).toString('hex'), '020000000001');
  t.equal(onesComplementSum([f.subarray(14, 34)]), 0xffff, 'IP header checksum');
  const pseudo = Buffer.concat([f.subarray(26, 34), Buffer.from([0, 6, 0, 20])]);
  t.equal(onesComplementSum([pseudo, f.subarray(34)]), 0xffff, 'TCP checksum');
  t.equal(f.readUInt32BE(38), 0xdeadbeef, 'seq');
  t.equal(f[47], 0x04, 'RST only');
  t.equal(f.readUInt16BE(34), 80);
  t.equal(f.readUInt16BE(36), 40000);
  const withAck = buildTcpRst({
    srcMac: '02:00:00:00:00:02',
    dstMac: '02:00:00:00:00:01',
    srcIp: '10.0.0.2',
    dstIp: '10.0.0.1',
    srcPort: 80,
    dstPort: 40000,
    seq: 1,
    ack: 2,
  });
  t.equal(withAck[47], 0x14, 'RST|ACK when ack is given');
  t.equal(withAck.readUInt32BE(42), 2);
});

t.test('IPv6 RST', async (t) => {
  const f = buildTcpRst({
    srcMac: '02:00:00:00:00:02',
    dstMac: '02:00:00:00:00:01',
    srcIp: 'fd00::2',
    dstIp: 'fd00::1:1',
    srcPort: 443,
    dstPort: 50000,
    seq: 12345,
  });
  t.equal(f.length, 74);
  t.equal(f.readUInt16BE(12), 0x86dd);
  t.equal(f[20], 6, 'next header TCP');
  t.equal(f.subarray(22, 38).toString('hex'), 'fd000000000000000000000000000002');
  t.equal(f.subarray(38, 54).toString('hex'), 'fd000000000000000000000000010001');
  const pseudo = Buffer.concat([f.subarray(22, 54), Buffer.from([0, 0, 0, 20, 0, 0, 0, 6])]);
  t.equal(onesComplementSum([pseudo, f.subarray(54)]), 0xffff, 'TCP checksum');
});

t.test('bad input', async (t) => {
  const base = {
    srcMac: '02:00:00:00:00:02',
    dstMac: '02:00:00:00:00:01',
    srcIp: '10.0.0.2',
    dstIp: '10.0.0.1',
    srcPort: 80,
    dstPort: 1,
    seq: 0,
  };
  t.throws(() => buildTcpRst({ ...base, srcPort: 0 }), /srcPort/);
  t.throws(() => buildTcpRst({ ...base, seq: 2 ** 32 }), /seq/);
  t.throws(() => buildTcpRst({ ...base, dstIp: 'fd00::1' }), /both be IPv4 or both IPv6/);
  t.throws(() => buildTcpRst({ ...base, srcMac: 'zz' }), /MAC/);
});
