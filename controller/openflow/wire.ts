// Bounds-checked reading and growable writing of big-endian OpenFlow bytes. Every read is
// checked against the end of the structure being read, so a lying length field becomes an
// OfpDecodeError with the offset, never an out-of-bounds read or an unbounded allocation.

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
  /** NUL-padded fixed-size string */
  str(n: number): string {
    const b = this.bytes(n);
    const z = b.indexOf(0);
    return b.subarray(0, z < 0 ? n : z).toString('utf8');
  }
  mac(): string {
    const b = this.bytes(6);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
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
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: bigint): this {
    this.room(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos);
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
    const b = Buffer.alloc(n);
    b.write(s.slice(0, n), 'utf8');
    return this.bytes(b);
  }
  mac(m: string): this {
    return this.bytes(Buffer.from(m.split(':').map((x) => Number.parseInt(x, 16))));
  }
  /** pad with zeros to a multiple of `align` counted from `from` */
  align(from: number, align = 8): this {
    const r = (this.pos - from) % align;
    return r ? this.pad(align - r) : this;
  }
  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v, at);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
