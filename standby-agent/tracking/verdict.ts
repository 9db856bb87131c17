// Can this connection be re-created on the standby, and with which exact values? A pure
// function of one table entry and the clock, so every rule is unit-tested without packets.
import type { TrackedConnection } from './connection-table.js';
import type { ResetSpec, RestoreParams, Verdict } from './verdict-types.js';

const seqDiff = (a: number, b: number) => (a - b) | 0;

function notRestorable(conn: TrackedConnection, code: string, reason: string): Verdict {
  return { restorable: false, code, reason, reset: resetFor(conn) };
}

/**
 * The RST a client accepts at once must carry exactly its rcv_nxt (RFC 5961); the client's
 * latest ACK is the best view of it, the service's snd_nxt when the client never acked.
 */
export function resetFor(conn: TrackedConnection): ResetSpec | undefined {
  const { client, server } = conn;
  let seq: number | undefined;
  if (client.ackSeen) seq = client.ack;
  else if (server.nxt !== 0 || server.isn !== 0) seq = server.nxt;
  if (seq === undefined) return undefined;
  return { src: conn.serviceEp, dst: conn.clientEp, seq: seq >>> 0 };
}

export function verdictFor(conn: TrackedConnection, _nowMs: number): Verdict {
  const { client, server } = conn;
  if (conn.state === 'RESET' || conn.state === 'CLOSED') {
    return { restorable: false, code: 'closed', reason: 'the connection is already closed' };
  }
  if (conn.state === 'SYN_SENT' || conn.state === 'SYN_RECEIVED') {
    return notRestorable(conn, 'handshake-incomplete', 'the three-way handshake has not completed');
  }
  if (!conn.handshakeSeen || conn.midstream) {
    return notRestorable(
      conn,
      'handshake-not-seen',
      'picked up mid-stream: window scale and MSS from the handshake are unknown',
    );
  }
  if (conn.state !== 'ESTABLISHED') {
    return notRestorable(conn, 'closing', `the connection is closing (${conn.state})`);
  }
  if (client.gapLost || (client.held && client.held.length > 0)) {
    return notRestorable(
      conn,
      'client-data-gap',
      'client bytes are missing on the mirror (a gap before later data)',
    );
  }
  if (server.gapLost || (server.held && server.held.length > 0)) {
    return notRestorable(conn, 'service-data-gap', 'service bytes are missing on the mirror');
  }
  if (!client.ackSeen) {
    return notRestorable(conn, 'no-client-ack', 'the client has not acknowledged anything yet');
  }

  const view = conn.hasAnalyzer ? conn.analyzer.view() : undefined;
  let recvQueue: Buffer = Buffer.alloc(0);
  if (view) {
    if (!view.analysable) {
      return notRestorable(conn, 'not-analysable', view.reason ?? `${view.protocol} stream not analysable`);
    }
    if (!view.replyBoundary) {
      return notRestorable(conn, 'reply-partly-sent', 'the service died in the middle of a reply');
    }
    const pending = view.pendingRequestBytes();
    if (!pending) {
      return notRestorable(conn, 'request-not-retained', 'the unanswered request no longer fits in the FIFO');
    }
    recvQueue = pending;
  }

  // Service bytes the client has not acknowledged go into the send queue; they must all be here.
  const inFlight = seqDiff(server.nxt, client.ack);
  if (inFlight < 0) {
    return notRestorable(conn, 'ack-beyond-data', 'the client acknowledged bytes the mirror never saw');
  }
  let sendQueue: Buffer = Buffer.alloc(0);
  if (inFlight > 0) {
    if (conn.unackedOverflow) {
      return notRestorable(conn, 'in-flight-not-retained', 'too many unacknowledged service bytes to keep');
    }
    sendQueue = Buffer.concat(conn.unacked.map((u) => u.data));
    const start = conn.unacked[0]?.seq;
    if (sendQueue.length !== inFlight || (start !== undefined && start !== client.ack)) {
      return notRestorable(conn, 'in-flight-not-retained', 'unacknowledged service bytes were not all seen');
    }
  }

  const scaled = client.wscale >= 0 && server.wscale >= 0;
  const params: RestoreParams = {
    family: conn.family,
    local: conn.serviceEp,
    remote: conn.clientEp,
    sndUna: client.ack >>> 0,
    sndNxt: server.nxt >>> 0,
    rcvNxt: client.nxt >>> 0,
    sendQueue,
    recvQueue,
    mss: client.mss || 536,
    sndWscale: scaled ? client.wscale : 0,
    rcvWscale: scaled ? server.wscale : 0,
    sackPermitted: client.sackPermitted && server.sackPermitted,
    timestamps:
      client.tsOk && server.tsOk
        ? { serviceTsVal: server.tsVal >>> 0, seenAtMs: server.tsSeenAt, clientTsVal: client.tsVal >>> 0 }
        : undefined,
    window: {
      sndWnd: client.window * 2 ** (scaled ? client.wscale : 0),
      rcvWnd: server.window * 2 ** (scaled ? server.wscale : 0),
    },
  };
  return { restorable: true, params };
}
