// A TCP RST frame (Ethernet + IPv4 or IPv6 + TCP, checksums filled in) that appears to come
// from one end of a connection. The receiver accepts it only if seq equals its rcv_nxt
// (RFC 5961), so the caller passes the exact sequence number the tracker saw.
import { isIPv4, isIPv6 } from 'node:net';
import { parseIpv4, parseIpv6, parseMac } from './addresses.js';
import { internetChecksum } from './checksum.js';

export interface TcpRstSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** u32 sequence number */
  seq: number;
  /** when given, the RST also carries ACK with this acknowledgment number */
  ack?: number;
}

const TCP_FIN_RST = 0x04;
const TCP_ACK = 0x10;

function tcpHeader(spec: TcpRstSpec): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(spec.srcPort, 0);
  tcp.writeUInt16BE(spec.dstPort, 2);
  tcp.writeUInt32BE(spec.seq >>> 0, 4);
  tcp.writeUInt32BE((spec.ack ?? 0) >>> 0, 8);
  tcp.writeUInt8(5 << 4, 12);
  tcp.writeUInt8(TCP_FIN_RST | (spec.ack !== undefined ? TCP_ACK : 0), 13);
  return tcp;
}

function validate(spec: TcpRstSpec): void {
  for (const [name, port] of [
    ['srcPort', spec.srcPort],
    ['dstPort', spec.dstPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`${name} must be 1..65535, got ${port}`);
  }
  if (!Number.isInteger(spec.seq) || spec.seq < 0 || spec.seq > 0xffffffff)
    throw new Error(`seq must be a u32, got ${spec.seq}`);
}

export function buildTcpRst(spec: TcpRstSpec): Buffer {
  validate(spec);
  const eth = Buffer.alloc(14);
  parseMac(spec.dstMac).copy(eth, 0);
  parseMac(spec.srcMac).copy(eth, 6);
  const tcp = tcpHeader(spec);
  if (isIPv4(spec.srcIp) && isIPv4(spec.dstIp)) {
    eth.writeUInt16BE(0x0800, 12);
    const src = parseIpv4(spec.srcIp);
    const dst = parseIpv4(spec.dstIp);
    const ip = Buffer.alloc(20);
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(40, 2);
    ip.writeUInt16BE(0x4000, 6); // DF
    ip.writeUInt8(64, 8);
    ip.writeUInt8(6, 9);
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.writeUInt16BE(internetChecksum([ip]), 10);
    const pseudo = Buffer.alloc(12);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 4);
    pseudo.writeUInt8(6, 9);
    pseudo.writeUInt16BE(tcp.length, 10);
    tcp.writeUInt16BE(internetChecksum([pseudo, tcp]), 16);
    return Buffer.concat([eth, ip, tcp]);
  }
  if (isIPv6(spec.srcIp) && isIPv6(spec.dstIp)) {
    eth.writeUInt16BE(0x86dd, 12);
    const src = parseIpv6(spec.srcIp);
    const dst = parseIpv6(spec.dstIp);
    const ip = Buffer.alloc(40);
    ip.writeUInt32BE(6 << 28, 0);
    ip.writeUInt16BE(tcp.length, 4);
    ip.writeUInt8(6, 6);
    ip.writeUInt8(64, 7);
    src.copy(ip, 8);
    dst.copy(ip, 24);
    const pseudo = Buffer.alloc(40);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(tcp.length, 32);
    pseudo.writeUInt8(6, 39);
    tcp.writeUInt16BE(internetChecksum([pseudo, tcp]), 16);
    return Buffer.concat([eth, ip, tcp]);
  }
  throw new Error(`srcIp and dstIp must both be IPv4 or both IPv6 (${spec.srcIp}, ${spec.dstIp})`);
}
