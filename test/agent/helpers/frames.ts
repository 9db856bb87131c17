// Builds real Ethernet/IPv4/TCP frames (with options and checksums) for tracker tests and the
// crafted pcap fixtures, and a tiny conversation driver that keeps both sides' sequence numbers.
import type { TcpOptions } from '../../../standby-agent/decode/frame.js';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

function csum(buf: Buffer, init = 0): number {
  let sum = init;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function ip4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

export interface SegmentSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: Partial<TcpOptions>;
  payload?: Buffer | string;
  vlan?: number;
}

export function tcpFrame(s: SegmentSpec): Buffer {
  const opts: number[] = [];
  const o = s.options ?? {};
  if (o.mss !== undefined) opts.push(2, 4, o.mss >> 8, o.mss & 0xff);
  if (o.sackPermitted) opts.push(4, 2);
  if (o.tsVal !== undefined) {
    const b = Buffer.alloc(10);
    b[0] = 8;
    b[1] = 10;
    b.writeUInt32BE(o.tsVal >>> 0, 2);
    b.writeUInt32BE((o.tsEcr ?? 0) >>> 0, 6);
    opts.push(...b);
  }
  if (o.wscale !== undefined) opts.push(1, 3, 3, o.wscale);
  while (opts.length % 4) opts.push(0);
  const payload = typeof s.payload === 'string' ? Buffer.from(s.payload) : (s.payload ?? Buffer.alloc(0));
  const tcp = Buffer.alloc(20 + opts.length);
  tcp.writeUInt16BE(s.sport, 0);
  tcp.writeUInt16BE(s.dport, 2);
  tcp.writeUInt32BE(s.seq >>> 0, 4);
  tcp.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  tcp[12] = (tcp.length / 4) << 4;
  tcp[13] = s.flags;
  tcp.writeUInt16BE(s.window ?? 502, 14);
  Buffer.from(opts).copy(tcp, 20);
  const seg = Buffer.concat([tcp, payload]);
  const pseudo = Buffer.concat([
    ip4(s.src),
    ip4(s.dst),
    Buffer.from([0, 6, seg.length >> 8, seg.length & 0xff]),
  ]);
  seg.writeUInt16BE(~csum(seg, csum(pseudo)) & 0xffff, 16);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + seg.length, 2);
  ip.writeUInt16BE(0x4000, 6);
  ip[8] = 64;
  ip[9] = 6;
  ip4(s.src).copy(ip, 12);
  ip4(s.dst).copy(ip, 16);
  ip.writeUInt16BE(~csum(ip) & 0xffff, 10);
  const eth = Buffer.from('020000000002020000000001', 'hex');
  const vlan = s.vlan !== undefined ? Buffer.from([0x81, 0x00, s.vlan >> 8, s.vlan & 0xff]) : Buffer.alloc(0);
  return Buffer.concat([eth, vlan, Buffer.from([0x08, 0x00]), ip, seg]);
}

/** A client/service conversation that tracks both sides' sequence numbers. */
export class Conversation {
  cseq: number;
  sseq: number;
  tsC = 1000;
  tsS = 500000;
  readonly frames: Buffer[] = [];
  constructor(
    readonly client = { ip: '10.0.0.1', port: 40000 },
    readonly service = { ip: '10.0.0.10', port: 80 },
    cisn = 0xfffffff0, // near the wrap on purpose
    sisn = 0x12345678,
    readonly timestamps = true,
  ) {
    this.cseq = cisn;
    this.sseq = sisn;
  }
  private ts(fromClient: boolean): Partial<TcpOptions> {
    if (!this.timestamps) return {};
    return fromClient ? { tsVal: this.tsC++, tsEcr: this.tsS } : { tsVal: this.tsS++, tsEcr: this.tsC };
  }
  c(flags: number, payload: Buffer | string = '', extra: Partial<SegmentSpec> = {}): Buffer {
    const f = tcpFrame({
      src: this.client.ip,
      dst: this.service.ip,
      sport: this.client.port,
      dport: this.service.port,
      seq: this.cseq,
      ack: flags & ACK ? this.sseq : 0,
      flags,
      payload,
      options: this.ts(true),
      ...extra,
    });
    const len = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (!extra.seq) this.cseq = (this.cseq + len + (flags & (SYN | FIN) ? 1 : 0)) >>> 0;
    this.frames.push(f);
    return f;
  }
  s(flags: number, payload: Buffer | string = '', extra: Partial<SegmentSpec> = {}): Buffer {
    const f = tcpFrame({
      src: this.service.ip,
      dst: this.client.ip,
      sport: this.service.port,
      dport: this.client.port,
      seq: this.sseq,
      ack: flags & ACK ? this.cseq : 0,
      flags,
      payload,
      options: this.ts(false),
      ...extra,
    });
    const len = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (!extra.seq) this.sseq = (this.sseq + len + (flags & (SYN | FIN) ? 1 : 0)) >>> 0;
    this.frames.push(f);
    return f;
  }
  handshake(): void {
    this.c(SYN, '', { options: { mss: 1460, sackPermitted: true, wscale: 7, tsVal: this.tsC++, tsEcr: 0 } });
    this.s(SYN | ACK, '', {
      options: { mss: 1400, sackPermitted: true, wscale: 9, tsVal: this.tsS++, tsEcr: this.tsC },
    });
    this.c(ACK);
  }
}
