// Address text <-> bytes for frames built by the controller (MAC, IPv4, IPv6).
import { isIPv4, isIPv6 } from 'node:net';

export function parseMac(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new Error(`bad MAC address ${mac}`);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

export function formatMac(b: Buffer): string {
  return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function parseIpv4(ip: string): Buffer {
  if (!isIPv4(ip)) throw new Error(`bad IPv4 address ${ip}`);
  return Buffer.from(ip.split('.').map(Number));
}

export const formatIpv4 = (b: Buffer) => [...b.subarray(0, 4)].join('.');

export function parseIpv6(ip: string): Buffer {
  if (!isIPv6(ip)) throw new Error(`bad IPv6 address ${ip}`);
  let text = ip;
  // a trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseIpv4(dotted[1]);
    text = `${text.slice(0, dotted.index)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return b;
}

/** Canonical (RFC 5952) IPv6 text. */
export function formatIpv6(b: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
