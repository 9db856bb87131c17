// Contract between the tracker's verdicts and the restorer: everything a TCP_REPAIR restore
// of one connection needs, as seen on the mirror. Sequence numbers are u32 wire values.

export interface Endpoint {
  ip: string;
  port: number;
}

export interface TimestampState {
  /** the service's last TSval seen on the mirror */
  serviceTsVal: number;
  /** monotonic ms (performance.now()) when that TSval was seen */
  seenAtMs: number;
  /** the client's last TSval (what the restored socket echoes as TSecr) */
  clientTsVal: number;
}

export interface RestoreParams {
  family: 4 | 6;
  /** the service side: the standby takes over this address */
  local: Endpoint;
  /** the client */
  remote: Endpoint;
  /** first server byte the client has not acknowledged: where the restored socket sends from */
  sndUna: number;
  /** service's next sequence number (sndUna + sendQueue.length) */
  sndNxt: number;
  /** next client byte expected (end of highest in-order client data) */
  rcvNxt: number;
  /** server bytes [sndUna, sndNxt) seen on the mirror but not yet acknowledged */
  sendQueue: Buffer;
  /** client bytes [rcvNxt - recvQueue.length, rcvNxt): the unanswered request(s), for the receive queue */
  recvQueue: Buffer;
  /** client's SYN MSS */
  mss: number;
  /** the client's window scale (from its SYN) */
  sndWscale: number;
  /** the service's window scale (from its SYN-ACK) */
  rcvWscale: number;
  sackPermitted: boolean;
  /** the service died mid-reply: the bytes of that reply it had sent (the client has them, or
   *  they are in sendQueue). The standby's reply to the replayed request must begin with exactly
   *  these (HTTP: the Date value may differ) and only its remainder goes to the client. */
  replyPrefix?: Buffer;
  /** service bytes seen after a gap (the bytes before them never reached the client): where
   *  they sit in the standby's reply (offset from its first byte) and what they must be */
  replyExpected?: { at: number; bytes: Buffer }[];
  /** present only when both SYN and SYN-ACK carried timestamps */
  timestamps?: TimestampState;
  /** windows in bytes (already shifted by their scale) */
  window: {
    /** client's advertised window */
    sndWnd: number;
    /** service's advertised window */
    rcvWnd: number;
  };
}

/** A RST for the client that it will accept: from the service, at the client's rcv_nxt. */
export interface ResetSpec {
  src: Endpoint;
  dst: Endpoint;
  seq: number;
}

export type Verdict =
  | { restorable: true; params: RestoreParams }
  | {
      restorable: false;
      /** stable machine code, e.g. 'handshake-not-seen', 'reply-partly-sent', 'not-analysable' */
      code: string;
      /** human sentence */
      reason: string;
      /** how to reset the client, when its state is known well enough */
      reset?: ResetSpec;
    };
