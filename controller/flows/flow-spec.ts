// The controller's own small flow descriptor: what the apps build and the desired state keeps.
// Pure data; the wire layer turns it into FLOW_MODs.

export interface FlowMatch {
  inPort?: number;
  ethDst?: string;
  ethSrc?: string;
  ethType?: number;
  ipProto?: number;
  tcpSrc?: number;
  tcpDst?: number;
  ipv4Dst?: string;
  arpTpa?: string;
}

export type Action =
  | { type: 'output'; port: number }
  | { type: 'set_eth_dst'; mac: string }
  /** something the switch reported that the controller does not model (flow dumps only) */
  | { type: 'unknown'; code: number };

export interface FlowSpec {
  tableId: number;
  priority: number;
  cookie: bigint;
  match: FlowMatch;
  /** Apply-Actions instruction (empty: none) */
  apply: Action[];
  /** Goto-Table instruction */
  gotoTable?: number;
  idleTimeout?: number;
  hardTimeout?: number;
}

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_IPV6 = 0x86dd;

/** Identity of a flow on the switch (OpenFlow: table + priority + exact match). */
export function flowKey(f: Pick<FlowSpec, 'tableId' | 'priority' | 'match'>): string {
  const m = f.match;
  const parts = (Object.keys(m) as (keyof FlowMatch)[])
    .filter((k) => m[k] !== undefined)
    .sort()
    .map((k) => `${k}=${String(m[k]).toLowerCase()}`);
  return `t${f.tableId}/p${f.priority}/${parts.join(',')}`;
}

/** Instructions in a comparable text form (used to tell a wrong flow from a right one). */
export function flowBody(
  f: Pick<FlowSpec, 'apply' | 'gotoTable' | 'cookie' | 'idleTimeout' | 'hardTimeout'>,
): string {
  const acts = f.apply.map((a) =>
    a.type === 'output'
      ? `output:${a.port}`
      : a.type === 'set_eth_dst'
        ? `set_eth_dst:${a.mac.toLowerCase()}`
        : `?${a.code}`,
  );
  return `${f.cookie.toString(16)}|${acts.join(',')}|goto:${f.gotoTable ?? '-'}|${f.idleTimeout ?? 0}/${f.hardTimeout ?? 0}`;
}
