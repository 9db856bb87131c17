// Cuts a TCP byte stream into whole OpenFlow messages, however the reads split or coalesce them.
// Memory is bounded: at most one partial message (<= 65535 bytes) is held.
import { OFP_HEADER_LEN } from './constants.js';
import { OfpDecodeError } from './wire.js';

export class OfpFramer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    let o = 0;
    while (buf.length - o >= OFP_HEADER_LEN) {
      const len = buf.readUInt16BE(o + 2);
      if (len < OFP_HEADER_LEN) {
        this.pending = Buffer.alloc(0);
        throw new OfpDecodeError(`header length ${len} < 8: the stream is not OpenFlow`, o + 2, buf[o + 1]);
      }
      if (buf.length - o < len) break;
      out.push(buf.subarray(o, o + len));
      o += len;
    }
    // Copy the tail so the caller's (possibly large) chunk is not kept alive.
    this.pending = o === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(o));
    return out;
  }

  /** bytes of an incomplete message waiting for the rest */
  get buffered(): number {
    return this.pending.length;
  }
}
