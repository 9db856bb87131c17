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
  if (conn.desynced !== undefined) {
    const side = conn.desynced === 'toServer' ? 'client' : 'service';
    return notRestorable(
      conn,
      `${side}-data-gap`,
      `${side} bytes were lost on the mirror: restorable again from the next moment nothing is in flight either way`,
    );
  }
  if (client.gapLost || (client.held && client.held.length > 0)) {
    return notRestorable(
      conn,
      'client-data-gap',
      'client bytes are missing on the mirror (a gap before later data)',
    );
  }
  // Service segments held after a gap: the service's segments can reach the switch out of order,
  // and the fence can drop the one before. Those bytes are lost for the client too; the
  // standby's reply to the replayed request re-creates them (HTTP, checked below).
  const serverHeld = server.held?.length ?? 0;
  if (server.gapLost || (serverHeld > 0 && (conn.protocol !== 'http' || server.held?.some((h) => h.fin)))) {
    return notRestorable(conn, 'service-data-gap', 'service bytes are missing on the mirror');
  }
  if (!client.ackSeen) {
    return notRestorable(conn, 'no-client-ack', 'the client has not acknowledged anything yet');
  }

  const view = conn.hasAnalyzer ? conn.analyzer.view() : undefined;
  let recvQueue: Buffer = Buffer.alloc(0);
  let replyPrefix: Buffer | undefined;
  let replyExpected: { at: number; bytes: Buffer }[] | undefined;
  if (view) {
    if (!view.analysable) {
      return notRestorable(conn, 'not-analysable', view.reason ?? `${view.protocol} stream not analysable`);
    }
    if (!view.replyBoundary) {
      // The service died in the middle of a reply. When every byte of it so far was kept, the
      // standby's reply to the replayed request completes it: the resume checks that the new
      // reply starts with exactly these bytes and sends the client only the rest.
      const partial = view.partialReply;
      if (!partial) {
        return notRestorable(conn, 'reply-partly-sent', 'the service died in the middle of a reply');
      }
      if (!partial.bytes || partial.start + partial.bytes.length !== server.streamEnd) {
        return notRestorable(
          conn,
          'reply-partly-sent',
          'the service died in the middle of a reply, and its bytes so far were not all kept',
        );
      }
      replyPrefix = partial.bytes;
    }
    if (serverHeld > 0) {
      // held bytes must come back at the same place in the standby's reply
      const replyStart = view.partialReply?.start ?? server.streamEnd;
      replyExpected = (server.held ?? []).map((h) => ({
        at: server.streamEnd - replyStart + seqDiff(h.seq, server.nxt),
        bytes: h.data,
      }));
      replyPrefix ??= Buffer.alloc(0);
    }
    const pending = view.pendingRequestBytes();
    if (!pending) {
      return notRestorable(conn, 'request-not-retained', 'the unanswered request no longer fits in the FIFO');
    }
    recvQueue = pending;
    if (replyPrefix && recvQueue.length === 0) {
      return serverHeld > 0
        ? notRestorable(
            conn,
            'service-data-gap',
            'service bytes are missing and no request is left to replay',
          )
        : notRestorable(conn, 'reply-partly-sent', 'the request of the unfinished reply was not kept');
    }
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
    sendQueue = conn.unacked === undefined ? sendQueue : conn.unacked.copyFrom();
    const start = sendQueue.length > 0 ? conn.unackedSeq : undefined;
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
    replyPrefix,
    replyExpected,
    window: {
      sndWnd: client.window * 2 ** (scaled ? client.wscale : 0),
      rcvWnd: server.window * 2 ** (scaled ? server.wscale : 0),
    },
  };
  return { restorable: true, params };
}
