// The Internet checksum (RFC 1071): one's-complement sum of 16-bit words.

export function onesComplementSum(bufs: readonly Buffer[], initial = 0): number {
  let sum = initial;
  for (const b of bufs) {
    let i = 0;
    for (; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
    if (i < b.length) sum += b[i] << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(bufs: readonly Buffer[]): number {
  return ~onesComplementSum(bufs) & 0xffff;
}
