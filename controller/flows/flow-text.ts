// Flow stats as the API shows them: OXM names and ovs-ofctl-like action text.
import type { FlowInfo } from '../facade.js';
import { OFPP, type WireFlowStats } from '../of-wire.js';
import type { Action } from './flow-spec.js';

const PORT_NAMES: Record<number, string> = {
  [OFPP.CONTROLLER]: 'CONTROLLER',
  [OFPP.FLOOD]: 'FLOOD',
  [OFPP.ALL]: 'ALL',
  [OFPP.IN_PORT]: 'IN_PORT',
  [OFPP.LOCAL]: 'LOCAL',
};

function actionText(a: Action): string {
  if (a.type === 'output') return `output:${PORT_NAMES[a.port] ?? a.port}`;
  if (a.type === 'set_eth_dst') return `set_field:${a.mac}->eth_dst`;
  return `unknown_action:${a.code}`;
}

export function flowInfo(f: WireFlowStats): FlowInfo {
  const match: Record<string, string> = {};
  const m = f.match;
  if (m.inPort !== undefined) match.in_port = String(m.inPort);
  if (m.ethDst !== undefined) match.eth_dst = m.ethDst;
  if (m.ethSrc !== undefined) match.eth_src = m.ethSrc;
  if (m.ethType !== undefined) match.eth_type = `0x${m.ethType.toString(16).padStart(4, '0')}`;
  if (m.ipProto !== undefined) match.ip_proto = String(m.ipProto);
  if (m.ipv4Dst !== undefined) match.ipv4_dst = m.ipv4Dst;
  if (m.tcpSrc !== undefined) match.tcp_src = String(m.tcpSrc);
  if (m.tcpDst !== undefined) match.tcp_dst = String(m.tcpDst);
  if (m.arpTpa !== undefined) match.arp_tpa = m.arpTpa;
  for (const u of f.unknownFields) match[u] = '?';
  const actions = f.apply.map(actionText);
  if (f.gotoTable !== undefined) actions.push(`goto_table:${f.gotoTable}`);
  return {
    tableId: f.tableId,
    priority: f.priority,
    cookie: `0x${f.cookie.toString(16)}`,
    packetCount: f.packetCount.toString(),
    byteCount: f.byteCount.toString(),
    durationSec: f.durationSec,
    idleTimeout: f.idleTimeout,
    hardTimeout: f.hardTimeout,
    match,
    actions,
  };
}
