// Bounds-checked reading and growable writing of big-endian OpenFlow bytes. Every read is
// checked against the end of the structure being read, so a lying length field becomes an
// OfpDecodeError with the offset, never an out-of-bounds read or an unbounded allocation.
import { isUtf8 } from 'node:buffer';

export class OfpDecodeError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
    readonly msgType?: number,
  ) {
    super(
      `OpenFlow decode error at offset ${offset}${msgType === undefined ? '' : ` (message type ${msgType})`}: ${reason}`,
    );
    this.name = 'OfpDecodeError';
  }
}

/**
 * A message that cannot be put on the wire as given (a value out of its field's range, a
 * malformed address, an unknown field name, a message over 65535 bytes). encode never masks
 * or truncates a value silently: a wrong byte could install a different flow.
 */
export class OfpEncodeError extends Error {
  constructor(readonly reason: string) {
    super(`OpenFlow encode error: ${reason}`);
    this.name = 'OfpEncodeError';
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const MAC_RE = /^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/i;

function uint(v: number, max: number, what: string): void {
  // v >= 0 && v <= max is false for NaN, and the modulo rejects fractions
  if (!(v >= 0 && v <= max && v % 1 === 0))
    throw new OfpEncodeError(`${what} ${String(v)} is not an integer in 0..${max}`);
}

export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
    readonly msgType?: number,
  ) {}

  fail(reason: string, at = this.pos): never {
    throw new OfpDecodeError(reason, at, this.msgType);
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.fail(`needs ${n} bytes, ${this.end - this.pos} left`);
  }
  get left(): number {
    return this.end - this.pos;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  rest(): Buffer {
    return this.bytes(this.left);
  }
  /** a reader over the next n bytes; this one moves past them */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.buf, this.pos, this.pos + n, this.msgType);
    this.pos += n;
    return r;
  }
  /**
   * NUL-padded fixed-size string, UTF-8 (table names can be Japanese). Bytes that are not
   * UTF-8 read as '?', so the string always fits its field again when re-encoded.
   */
  str(n: number): string {
    const b = this.bytes(n);
    const z = b.indexOf(0);
    const s = b.subarray(0, z < 0 ? n : z);
    return isUtf8(s) ? s.toString('utf8') : s.toString('utf8').replaceAll('\ufffd', '?');
  }
  mac(): string {
    this.need(6);
    const b = this.buf;
    const p = this.pos;
    this.pos += 6;
    return `${HEX[b[p]]}:${HEX[b[p + 1]]}:${HEX[b[p + 2]]}:${HEX[b[p + 3]]}:${HEX[b[p + 4]]}:${HEX[b[p + 5]]}`;
  }
}

export class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): this {
    uint(v, 0xff, 'u8');
    this.room(1);
    this.buf[this.pos++] = v;
    return this;
  }
  u16(v: number): this {
    uint(v, 0xffff, 'u16');
    this.room(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    uint(v, 0xffffffff, 'u32');
    this.room(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: bigint): this {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn)
      throw new OfpEncodeError(`u64 ${String(v)} is not a bigint in 0..2^64-1`);
    this.room(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }
  pad(n: number): this {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  str(s: string, n: number): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > n) throw new OfpEncodeError(`"${s}" is ${b.length} bytes, more than its ${n}-byte field`);
    this.bytes(b);
    return this.pad(n - b.length);
  }
  mac(m: string): this {
    if (typeof m !== 'string' || !MAC_RE.test(m))
      throw new OfpEncodeError(`"${String(m)}" is not a MAC address`);
    this.room(6);
    let byte = 0;
    for (let i = 0; i < m.length; i++) {
      const c = m.charCodeAt(i);
      if (c === 58 /* : */) {
        this.buf[this.pos++] = byte;
        byte = 0;
      } else byte = byte * 16 + (c <= 57 ? c - 48 : (c | 0x20) - 87);
    }
    this.buf[this.pos++] = byte;
    return this;
  }
  /** pad with zeros to a multiple of `align` counted from `from` */
  align(from: number, align = 8): this {
    const r = (this.pos - from) % align;
    return r ? this.pad(align - r) : this;
  }
  patchU16(at: number, v: number): void {
    if (v > 0xffff) throw new OfpEncodeError(`a structure of ${v} bytes exceeds its 16-bit length field`);
    this.buf.writeUInt16BE(v, at);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
