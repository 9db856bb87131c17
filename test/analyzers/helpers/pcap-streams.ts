// Test-only: split a recorded pcap into TCP connections and feed each one's in-order bytes to
// an analyzer, without the tracker (so analyzer tests do not depend on it). Retransmitted bytes
// are trimmed; client ACKs are passed on as onClientAck.
import { readFileSync } from 'node:fs';
import { createAnalyzer, protocolForPort } from '../../../standby-agent/analyzers/index.js';
import type { FifoLimits, StreamAnalyzer } from '../../../standby-agent/analyzers/types.js';
import { readPcap } from '../../../standby-agent/capture/pcap-file.js';
import { decodeFrame, TCP_ACK, TCP_SYN } from '../../../standby-agent/decode/frame.js';

export interface RecordedConnection {
  client: string;
  server: string;
  analyzer: StreamAnalyzer;
}

const u32 = (n: number) => n >>> 0;

/** 32 exchanges, answered or not: the recordings' tests read a session's history */
export const HISTORY_LIMITS: FifoLimits = { maxExchanges: 32, maxBytes: 256 * 1024 };

/** pieceSize: feed each segment's bytes in pieces of at most this size (split-boundary tests) */
export function analyzePcap(
  path: string,
  serverPort: number,
  pieceSize = Infinity,
  limits: FifoLimits = HISTORY_LIMITS,
): RecordedConnection[] {
  const conns = new Map<
    string,
    RecordedConnection & {
      isn: { toServer?: number; toClient?: number };
      next: { toServer: number; toClient: number };
    }
  >();
  for (const frame of readPcap(readFileSync(path))) {
    const seg = decodeFrame(frame.data);
    if (typeof seg === 'string') continue;
    const toServer = seg.dstPort === serverPort;
    if (!toServer && seg.srcPort !== serverPort) continue;
    const client = toServer ? `${seg.src}:${seg.srcPort}` : `${seg.dst}:${seg.dstPort}`;
    let c = conns.get(client);
    if (!c) {
      c = {
        client,
        server: toServer ? `${seg.dst}:${seg.dstPort}` : `${seg.src}:${seg.srcPort}`,
        analyzer: createAnalyzer(protocolForPort(serverPort), limits),
        isn: {},
        next: { toServer: 0, toClient: 0 },
      };
      conns.set(client, c);
    }
    const dir = toServer ? 'toServer' : 'toClient';
    if (seg.flags & TCP_SYN) {
      c.isn[dir] = seg.seq;
      continue;
    }
    const isn = c.isn[dir];
    if (isn === undefined) continue; // picked up mid-stream: not in these recordings
    const off = u32(seg.seq - isn - 1);
    if (seg.payload.length > 0 && off + seg.payload.length > c.next[dir]) {
      if (off > c.next[dir]) throw new Error(`gap in ${client} ${dir}: capture lost a segment`);
      const data = seg.payload.subarray(c.next[dir] - off);
      for (let i = 0; i < data.length; i += Math.min(pieceSize, data.length)) {
        c.analyzer.onData(dir, c.next[dir] + i, data.subarray(i, i + Math.min(pieceSize, data.length)));
      }
      c.next[dir] += data.length;
    }
    const peerIsn = c.isn.toClient;
    if (toServer && seg.flags & TCP_ACK && peerIsn !== undefined) {
      c.analyzer.onClientAck(Math.min(u32(seg.ack - peerIsn - 1), c.next.toClient));
    }
  }
  return [...conns.values()];
}
