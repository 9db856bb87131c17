// The controller's OpenFlow 1.3 wire layer against Ryu's independent byte vectors (decode) and
// hand-checked layouts (encode), plus round trips of the flows the apps build.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { cookieFor } from '../../controller/flows/cookies.js';
import type { FlowSpec } from '../../controller/flows/flow-spec.js';
import {
  decodeMessage,
  encodeFlowMod,
  encodeFlowStatsRequest,
  encodeHello,
  encodePacketOut,
  encodePortMod,
  FLOW_CMD,
  OFPP,
  WireDecodeError,
  WireFramer,
} from '../../controller/of-wire.js';

const vector = (name: string) => readFileSync(`/work/shared/openflow-vectors/of13/packet/${name}.packet`);
const json = (name: string) =>
  JSON.parse(readFileSync(`/work/shared/openflow-vectors/of13/json/${name}.packet.json`, 'utf8'));

t.test('decodes Ryu vectors', async (t) => {
  const hello = decodeMessage(vector('libofproto-OFP13-hello'));
  t.match(hello, { type: 'hello', version: 4 });
  if (hello.type === 'hello' && hello.bitmap !== undefined)
    t.ok(hello.bitmap & (1 << 4), 'bitmap offers 1.3');

  const fr = decodeMessage(vector('4-6-ofp_features_reply'));
  const frj = json('4-6-ofp_features_reply').OFPSwitchFeatures;
  t.match(fr, {
    type: 'features_reply',
    datapathId: BigInt(frj.datapath_id),
    nTables: frj.n_tables,
    auxiliaryId: frj.auxiliary_id,
  });

  const pi = decodeMessage(vector('4-4-ofp_packet_in'));
  const pij = json('4-4-ofp_packet_in').OFPPacketIn;
  t.match(pi, {
    type: 'packet_in',
    inPort: 6,
    cookie: BigInt(pij.cookie),
    reason: pij.reason,
    tableId: pij.table_id,
  });
  if (pi.type === 'packet_in') t.same(pi.data, Buffer.from(pij.data, 'base64'), 'packet-in data');

  const pd = decodeMessage(vector('4-54-ofp_port_desc_reply'));
  const pdj = json('4-54-ofp_port_desc_reply').OFPPortDescStatsReply.body.map(
    (p: { OFPPort: Record<string, unknown> }) => p.OFPPort,
  );
  t.equal(pd.type, 'port_desc_reply');
  if (pd.type === 'port_desc_reply')
    t.same(
      pd.ports.map((p) => [p.portNo, p.name, p.hwAddr, p.config, p.state, p.currSpeedKbps]),
      pdj.map((p: Record<string, unknown>) => [
        p.port_no,
        p.name,
        p.hw_addr,
        p.config,
        p.state,
        p.curr_speed,
      ]),
    );

  const ps = decodeMessage(vector('libofproto-OFP13-port_status'));
  t.match(ps, { type: 'port_status', reason: 2, port: { portNo: 1, name: 'eth0', currSpeedKbps: 50000 } });

  const err = decodeMessage(vector('4-15-ofp_error_msg'));
  const ej = json('4-15-ofp_error_msg').OFPErrorMsg;
  t.match(err, { type: 'error', errType: ej.type, errCode: ej.code });
});

t.test('framer splits and rejects', async (t) => {
  const f = new WireFramer();
  const a = encodeHello(1);
  const b = encodeHello(2);
  const both = Buffer.concat([a, b]);
  t.same(f.push(both.subarray(0, 5)), []);
  t.same(f.push(both.subarray(5, 20)), [a]);
  t.same(f.push(both.subarray(20)), [b]);
  t.throws(() => new WireFramer().push(Buffer.from([4, 0, 0, 4, 0, 0, 0, 0])), WireDecodeError);
  t.throws(
    () => decodeMessage(Buffer.from([4, 6, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0])),
    WireDecodeError,
    'short features_reply',
  );
});

t.test('encodes flow-mods, packet-outs and port-mods', async (t) => {
  const spec: FlowSpec = {
    tableId: 1,
    priority: 100,
    cookie: cookieFor('learning'),
    match: { inPort: 3, ethDst: '02:00:00:00:00:09' },
    apply: [{ type: 'output', port: 2 }],
    idleTimeout: 60,
  };
  const fm = encodeFlowMod(7, spec, { command: FLOW_CMD.ADD });
  t.equal(fm.readUInt8(0), 4);
  t.equal(fm.readUInt8(1), 14, 'FLOW_MOD');
  t.equal(fm.readUInt16BE(2), fm.length);
  t.equal(fm.readUInt32BE(4), 7);
  t.equal(fm.readBigUInt64BE(8), cookieFor('learning'));
  t.equal(fm.readUInt8(24), 1, 'table');
  t.equal(fm.readUInt16BE(26), 60, 'idle timeout');
  t.equal(fm.readUInt16BE(30), 100, 'priority');
  t.equal(fm.readUInt32BE(32), 0xffffffff, 'no buffer');
  // match: OXM in_port (8) + eth_dst (10) = 4 + 18 = 22 -> padded 24
  t.equal(fm.readUInt16BE(48), 1, 'OFPMT_OXM');
  t.equal(fm.readUInt16BE(50), 22);
  t.equal(fm.readUInt32BE(52), 0x80000004, 'OXM in_port header');
  t.equal(fm.readUInt32BE(56), 3);
  t.equal(fm.readUInt32BE(60), 0x80000606, 'OXM eth_dst header');
  // instruction apply-actions with one output action
  t.equal(fm.readUInt16BE(72), 4, 'OFPIT_APPLY_ACTIONS');
  t.equal(fm.readUInt16BE(74), 24);
  t.equal(fm.readUInt32BE(84), 2, 'output port');
  t.equal(fm.length, 96);

  const po = encodePacketOut(9, OFPP.CONTROLLER, [{ type: 'output', port: 4 }], Buffer.from('frame'));
  t.equal(po.readUInt8(1), 13);
  t.equal(po.readUInt32BE(12), OFPP.CONTROLLER, 'in_port');
  t.equal(po.readUInt16BE(16), 16, 'actions_len');
  t.equal(po.subarray(40).toString(), 'frame');

  const pm = encodePortMod(1, 5, '02:00:00:00:00:05', true);
  t.equal(pm.length, 40);
  t.equal(pm.readUInt32BE(24), 1, 'config PORT_DOWN');
  t.equal(pm.readUInt32BE(28), 1, 'mask PORT_DOWN');

  const fs = encodeFlowStatsRequest(2, 1n << 60n, 0xfn << 60n);
  t.equal(fs.readUInt16BE(8), 1, 'OFPMP_FLOW');
  t.equal(fs.readUInt8(16), 0xff, 'all tables');
});
