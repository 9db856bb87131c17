// Byte-fixture tests of the public API beyond the Ryu vectors: hand-built messages whose
// bytes are written out from the spec, the builders, names of errors, and encode refusing
// values that do not fit their fields (never masking them into a different flow).
import t from 'tap';
import {
  decode,
  encode,
  errorCode,
  errorName,
  flowMod,
  matchOf,
  type OfpMessage,
  OfpEncodeError,
  OFPFC_DELETE,
  OFPP_CONTROLLER,
  OFPP_FLOOD,
  output,
  packetOut,
} from '../../controller/openflow/index.js';
import { parseBigJson } from './helpers/big-json.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('HELLO with a version bitmap (1.0 and 1.3)', async (t) => {
  const bytes = hex('04 00 0010 00000001  0001 0008 00000012');
  const m = decode(bytes);
  t.same(m, { type: 'hello', xid: 1, elements: [{ type: 1, versions: [1, 4] }] });
  t.same(encode(m), bytes);
});

t.test('FLOW_MOD from the builder, byte for byte', async (t) => {
  const m = flowMod({
    xid: 0x10,
    cookie: 0xfedcba9876543210n,
    priority: 100,
    match: matchOf({ in_port: 1, eth_type: 0x0800, ipv4_dst: ['10.0.0.0', '255.0.0.0'] }),
    actions: [output(2), output(OFPP_CONTROLLER)],
  });
  const bytes = encode(m);
  const expected = hex(`
    04 0e 0078 00000010
    fedcba9876543210 0000000000000000
    00 00 0000 0000 0064 ffffffff ffffffff ffffffff 0000 0000
    0001 001e 80000004 00000001 80000a02 0800 80001908 0a000000 ff000000 0000
    0004 0028 00000000
      0000 0010 00000002 0000 000000000000
      0000 0010 fffffffd ffff 000000000000`);
  t.equal(bytes.toString('hex'), expected.toString('hex'));
  t.same(decode(bytes), m, 'decodes back to the same message');
});

t.test('PACKET_IN: 64-bit cookie as bigint, data is a view of the input (no copy)', async (t) => {
  const frame = Buffer.alloc(64, 0xab);
  const bytes = Buffer.concat([
    hex(
      '04 0a 006a 00000007  ffffffff 0040 01 02 8000000000000001  0001 000c 80000004 00000003 00000000 0000',
    ),
    frame,
  ]);
  const m = decode(bytes);
  if (m.type !== 'packet_in') throw new Error(`decoded a ${m.type}`);
  t.equal(m.cookie, 0x8000000000000001n);
  t.same(m.match.fields, [{ field: 'in_port', value: 3 }]);
  t.equal(m.data.length, 64);
  t.equal(m.data.buffer, bytes.buffer, 'data shares the input memory');
  t.same(encode(m), bytes);
});

t.test('OXM values: MACs, IPv6 text (also with a dotted quad), bigint metadata', async (t) => {
  const m = flowMod({
    match: matchOf({
      eth_src: ['aa:bb:cc:dd:ee:ff', 'ff:ff:ff:ff:ff:00'],
      ipv6_src: '::ffff:10.0.0.1',
      ipv6_dst: 'fe80::1',
      metadata: 0xffffffffffffffffn,
      pbb_isid: 0xabcdef,
    }),
  });
  const d = decode(encode(m));
  if (d.type !== 'flow_mod') throw new Error(`decoded a ${d.type}`);
  t.same(d.match.fields, [
    { field: 'eth_src', value: 'aa:bb:cc:dd:ee:ff', mask: 'ff:ff:ff:ff:ff:00' },
    { field: 'ipv6_src', value: '::ffff:a00:1' },
    { field: 'ipv6_dst', value: 'fe80::1' },
    { field: 'metadata', value: 0xffffffffffffffffn },
    { field: 'pbb_isid', value: 0xabcdef },
  ]);
});

t.test('encode refuses values that do not fit, with OfpEncodeError', async (t) => {
  const bad: [string, OfpMessage][] = [
    ['in_port above 32 bits', flowMod({ match: matchOf({ in_port: 2 ** 32 }) })],
    ['negative eth_type', flowMod({ match: matchOf({ eth_type: -1 }) })],
    ['fractional vlan', flowMod({ match: matchOf({ vlan_vid: 1.5 }) })],
    ['bad MAC', flowMod({ match: matchOf({ eth_dst: 'aa:bb:cc' }) })],
    ['bad IPv4', flowMod({ match: matchOf({ ipv4_src: '10.0.0' }) })],
    ['bad IPv6', flowMod({ match: matchOf({ ipv6_src: 'fe80::1::2' }) })],
    ['metadata as a number', flowMod({ match: matchOf({ metadata: 1 }) })],
    ['unknown field', flowMod({ match: matchOf({ no_such_field: 1 }) })],
    ['priority above 16 bits', flowMod({ match: matchOf({}), priority: 0x10000 })],
    ['cookie above 64 bits', flowMod({ match: matchOf({}), cookie: 1n << 64n })],
    ['output port NaN', packetOut(Buffer.alloc(0), [output(Number.NaN)])],
    ['message over 65535 bytes', packetOut(Buffer.alloc(70000), [output(OFPP_FLOOD)])],
  ];
  for (const [name, m] of bad) t.throws(() => encode(m), OfpEncodeError, name);
});

t.test('builders fill the defaults a controller wants', async (t) => {
  const m = flowMod({ command: OFPFC_DELETE, match: matchOf({}) });
  t.match(m, {
    command: OFPFC_DELETE,
    buffer_id: 0xffffffff,
    out_port: 0xffffffff,
    out_group: 0xffffffff,
    instructions: [],
  });
  t.same(output(OFPP_CONTROLLER), { type: 'output', port: OFPP_CONTROLLER, max_len: 0xffff });
  const po = packetOut(Buffer.from('frame'), [output(3)]);
  t.same(decode(encode(po)), po);
});

t.test('error types and codes by name', async (t) => {
  t.same(errorName(2, 4), { type: 'OFPET_BAD_ACTION', code: 'OFPBAC_BAD_OUT_PORT' });
  t.same(errorName(13, 5), { type: 'OFPET_TABLE_FEATURES_FAILED', code: 'OFPTFFC_EPERM' });
  t.same(errorCode('OFPET_FLOW_MOD_FAILED', 'OFPFMFC_OVERLAP'), { type: 5, code: 3 });
  t.same(errorName(99, 1), { type: 'OFPET_99', code: '1' }, 'unknown numbers stay numbers');
  const err = hex('04 01 0014 00000009  0002 0004  040e0010 00000009');
  const m = decode(err);
  t.match(m, { type: 'error', err_type: 2, code: 4 });
  t.same(encode(m), err);
});

t.test('big-int-safe JSON keeps 64-bit integers exact', async (t) => {
  t.same(parseBigJson('{"a": [18446744073709551615, 9007199254740993, 42, -1, 1.5, "x\\"y", null, true]}'), {
    a: [18446744073709551615n, 9007199254740993n, 42, -1, 1.5, 'x"y', null, true],
  });
});
