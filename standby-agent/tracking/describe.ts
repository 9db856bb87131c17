// A tracked connection as people and the API see it: endpoints, state, counters, the latest
// exchanges, and the restore verdict with its reason.
import { performance } from 'node:perf_hooks';
import type { TrackedConnection } from './connection-table.js';
import { verdictFor } from './verdict.js';

export interface ConnectionSummary {
  key: string;
  client: string;
  service: string;
  state: string;
  protocol: string;
  handshakeSeen: boolean;
  bytesToServer: number;
  bytesToClient: number;
  segments: number;
  retransmissions: number;
  /** segments that arrived ahead of a gap, each way; and segments still waiting for one */
  outOfOrder: { toServer: number; toClient: number };
  held: { toServer: number; toClient: number };
  exchanges: number;
  lastExchange?: string;
  restorable: boolean;
  code?: string;
  reason?: string;
}

const ep = (e: { ip: string; port: number }) =>
  e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;

export function describeConnection(c: TrackedConnection, nowMs = performance.now()): ConnectionSummary {
  const v = verdictFor(c, nowMs);
  const view = c.hasAnalyzer ? c.analyzer.view() : undefined;
  const last = view?.exchanges[view.exchanges.length - 1];
  return {
    key: c.key,
    client: ep(c.clientEp),
    service: ep(c.serviceEp),
    state: c.state,
    protocol: c.protocol,
    handshakeSeen: c.handshakeSeen,
    bytesToServer: c.client.bytes,
    bytesToClient: c.server.bytes,
    segments: c.client.segments + c.server.segments,
    retransmissions: c.client.retransmissions + c.server.retransmissions,
    outOfOrder: { toServer: c.client.outOfOrder, toClient: c.server.outOfOrder },
    held: { toServer: c.client.held?.length ?? 0, toClient: c.server.held?.length ?? 0 },
    exchanges: (view?.exchanges.length ?? 0) + (view?.droppedExchanges ?? 0),
    lastExchange: last ? `${last.request.summary} -> ${last.reply?.summary ?? '(no reply yet)'}` : undefined,
    restorable: v.restorable,
    code: v.restorable ? undefined : v.code,
    reason: v.restorable ? undefined : v.reason,
  };
}
