// Bytes of one direction's stream a connection keeps (the requests for replay, the reply in
// progress): a contiguous window [start, end), trimmed from the front, capped in size.
import { ByteQueue } from './byte-queue.js';

export class RetainedBytes {
  private readonly bytes = new ByteQueue();
  /** stream offset of the first retained byte */
  start = 0;
  /** stream offset after the last byte seen */
  end = 0;
  /** bytes before `start` were dropped because of the cap (not merely because they were answered) */
  lostBefore = 0;

  constructor(private readonly maxBytes: number) {}

  reset(offset: number): void {
    this.bytes.clear();
    this.start = offset;
    this.end = offset;
  }

  append(offset: number, data: Buffer): void {
    if (offset !== this.end) this.reset(offset);
    this.end += data.length;
    if (this.end - this.start <= this.maxBytes) {
      this.bytes.push(data, 0, data.length);
      return;
    }
    // over the cap: only the last maxBytes stay (of which this data's tail)
    const fromData = Math.max(0, data.length - this.maxBytes);
    this.bytes.drop(this.bytes.length + data.length - fromData - this.maxBytes);
    this.bytes.push(data, fromData, data.length);
    this.start = this.end - this.bytes.length;
    this.lostBefore = this.start;
  }

  /** forget bytes before `offset` (they belong to answered, acknowledged exchanges) */
  dropTo(offset: number): void {
    const cut = Math.min(offset - this.start, this.bytes.length);
    if (cut <= 0) return;
    this.bytes.drop(cut);
    this.start += cut;
  }

  /** lets the kept storage go if nothing is retained (see ByteQueue.compact) */
  compact(): void {
    this.bytes.compact();
  }

  /** bytes [from, end), or undefined when some were dropped by the cap */
  slice(from: number): Buffer | undefined {
    if (from < this.start) return from >= this.end ? Buffer.alloc(0) : undefined;
    if (from >= this.end) return Buffer.alloc(0);
    return this.bytes.copyFrom(from - this.start);
  }
}
