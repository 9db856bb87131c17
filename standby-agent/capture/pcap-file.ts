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

interface PcapLayout {
  le: boolean;
  nanos: boolean;
}

function pcapLayout(buf: Buffer): PcapLayout {
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
  const linkType = le ? buf.readUInt32LE(20) : buf.readUInt32BE(20);
  if (linkType !== LINKTYPE_ETHERNET) throw new PcapFormatError(`link type ${linkType} is not Ethernet`);
  return { le, nanos };
}

/**
 * Calls `onRecord` with each record's byte range in `buf`, no allocation per record (the
 * pipeline's offline path). A truncated last record (a capture cut short) ends the walk.
 */
export function forEachPcapRecord(
  buf: Buffer,
  onRecord: (buf: Buffer, start: number, end: number, tsMs: number, origLen: number) => void,
): number {
  const { le, nanos } = pcapLayout(buf);
  const u32 = le
    ? (o: number) => (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24)) >>> 0
    : (o: number) => ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
  const fracMs = nanos ? 1e6 : 1e3;
  let o = 24;
  let n = 0;
  while (o + 16 <= buf.length) {
    const incl = u32(o + 8);
    const start = o + 16;
    if (start + incl > buf.length) break;
    onRecord(buf, start, start + incl, u32(o) * 1000 + u32(o + 4) / fracMs, u32(o + 12));
    o = start + incl;
    n++;
  }
  return n;
}

export function* readPcap(buf: Buffer): Generator<CapturedFrame> {
  const frames: CapturedFrame[] = [];
  forEachPcapRecord(buf, (b, start, end, tsMs, origLen) => {
    frames.push({ tsMs, data: b.subarray(start, end), origLen });
  });
  yield* frames;
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
