// Classic pcap files (both byte orders, micro- and nanosecond stamps), read into frames that
// are views of the file buffer, and a writer for fixtures and benchmarks.
import { readFileSync } from 'node:fs';

export interface CapturedFrame {
  /** capture time, ms since the epoch */
  tsMs: number;
  data: Buffer;
  /** length on the wire (may exceed data.length when the snaplen cut it) */
  origLen: number;
}

export const LINKTYPE_ETHERNET = 1;

export class PcapFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PcapFormatError';
  }
}

export function* readPcap(buf: Buffer): Generator<CapturedFrame> {
  if (buf.length < 24) throw new PcapFormatError('file shorter than a pcap header');
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nanos = magicLE === 0xa1b23c4d;
  } else if (buf.readUInt32BE(0) === 0xa1b2c3d4 || buf.readUInt32BE(0) === 0xa1b23c4d) {
    le = false;
    nanos = buf.readUInt32BE(0) === 0xa1b23c4d;
  } else if (buf.readUInt32LE(0) === 0x0a0d0d0a) {
    throw new PcapFormatError('pcapng is not supported: convert with `tcpdump -r in.pcapng -w out.pcap`');
  } else {
    throw new PcapFormatError('not a pcap file (bad magic)');
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== LINKTYPE_ETHERNET) throw new PcapFormatError(`link type ${linkType} is not Ethernet`);
  let o = 24;
  while (o + 16 <= buf.length) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const orig = u32(o + 12);
    o += 16;
    if (o + incl > buf.length) return; // truncated last record: a capture cut short
    yield {
      tsMs: sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3),
      data: buf.subarray(o, o + incl),
      origLen: orig,
    };
    o += incl;
  }
}

export function readPcapFile(path: string): Generator<CapturedFrame> {
  return readPcap(readFileSync(path));
}

/** Builds a little-endian microsecond pcap in memory. */
export class PcapWriter {
  private chunks: Buffer[] = [];
  constructor(snaplen = 262144) {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.chunks.push(h);
  }
  add(tsMs: number, frame: Buffer): void {
    const h = Buffer.alloc(16);
    const sec = Math.floor(tsMs / 1000);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(Math.round((tsMs - sec * 1000) * 1000), 4);
    h.writeUInt32LE(frame.length, 8);
    h.writeUInt32LE(frame.length, 12);
    this.chunks.push(h, frame);
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
