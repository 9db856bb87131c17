// The request bytes a connection keeps for replay: a contiguous window [start, end) of the
// client's stream, trimmed from the front as replies are acknowledged, capped in size.
export class RetainedBytes {
  private chunks: Buffer[] = [];
  /** stream offset of the first retained byte */
  start = 0;
  /** stream offset after the last byte seen */
  end = 0;
  private size = 0;
  /** bytes before `start` were dropped because of the cap (not merely because they were answered) */
  lostBefore = 0;

  constructor(private readonly maxBytes: number) {}

  reset(offset: number): void {
    this.chunks = [];
    this.size = 0;
    this.start = offset;
    this.end = offset;
  }

  append(offset: number, data: Buffer): void {
    if (offset !== this.end) this.reset(offset);
    // Copy: the caller's buffer may be reused by the capture (small copies use Node's pool).
    const copy = Buffer.allocUnsafe(data.length);
    data.copy(copy);
    this.chunks.push(copy);
    this.size += data.length;
    this.end += data.length;
    if (this.size > this.maxBytes) {
      this.dropTo(this.end - this.maxBytes);
      this.lostBefore = this.start;
    }
  }

  /** forget bytes before `offset` (they belong to answered, acknowledged exchanges) */
  dropTo(offset: number): void {
    let cut = offset - this.start;
    while (cut > 0 && this.chunks.length > 0) {
      const head = this.chunks[0];
      if (head.length <= cut) {
        this.chunks.shift();
        cut -= head.length;
        this.size -= head.length;
        this.start += head.length;
      } else {
        this.chunks[0] = head.subarray(cut);
        this.size -= cut;
        this.start += cut;
        cut = 0;
      }
    }
    if (this.chunks.length === 0) this.start = Math.max(this.start, Math.min(offset, this.end));
  }

  /** bytes [from, end), or undefined when some were dropped by the cap */
  slice(from: number): Buffer | undefined {
    if (from < this.start) return from >= this.end ? Buffer.alloc(0) : undefined;
    if (from >= this.end) return Buffer.alloc(0);
    return Buffer.concat(this.chunks).subarray(from - this.start);
  }
}
