// Just enough parsing of a packet-in's frame for learning and address discovery.
import { formatIpv4, formatIpv6, formatMac } from './addresses.js';

export interface ParsedFrame {
  dst: string;
  src: string;
  ethType: number;
  /** sender of an ARP packet, source of an IPv4 or IPv6 packet */
  senderIp?: string;
}

export function parseFrame(data: Buffer): ParsedFrame | undefined {
  if (data.length < 14) return undefined;
  let ethType = data.readUInt16BE(12);
  let l3 = 14;
  if (ethType === 0x8100 && data.length >= 18) {
    ethType = data.readUInt16BE(16);
    l3 = 18;
  }
  const f: ParsedFrame = {
    dst: formatMac(data.subarray(0, 6)),
    src: formatMac(data.subarray(6, 12)),
    ethType,
  };
  if (ethType === 0x0806 && data.length >= l3 + 28) f.senderIp = formatIpv4(data.subarray(l3 + 14, l3 + 18));
  else if (ethType === 0x0800 && data.length >= l3 + 20)
    f.senderIp = formatIpv4(data.subarray(l3 + 12, l3 + 16));
  else if (ethType === 0x86dd && data.length >= l3 + 40)
    f.senderIp = formatIpv6(data.subarray(l3 + 8, l3 + 24));
  return f;
}

/** Group bit set: broadcast or multicast. */
export const isMulticastMac = (mac: string) => (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
