// Length-prefixed records (ONC RPC record marking, NetBIOS session messages): gathers each
// record's first bytes for header parsing and skips the rest, so a 1 MiB WRITE costs nothing.
export interface RecordHandlers {
  /** the first `peek` bytes of a record (fewer if the record is shorter) */
  onRecord(start: number, head: Buffer, recordLen: number): void;
  onRecordEnd(end: number): void;
  onError(reason: string): void;
}

export abstract class RecordFramer {
  private prefix = Buffer.alloc(0);
  private headParts: Buffer[] = [];
  private headLen = 0;
  private remaining = 0;
  private recordStart = 0;
  private recordLen = 0;
  private inRecord = false;
  private headDelivered = false;
  failed = false;

  constructor(
    private readonly prefixLen: number,
    private readonly peek: number,
    protected readonly h: RecordHandlers,
  ) {}

  /** the record length from its prefix, and whether this is the last fragment; or an error text */
  protected abstract parsePrefix(prefix: Buffer): { len: number; last: boolean } | string;

  get atBoundary(): boolean {
    return !this.inRecord && this.prefix.length === 0;
  }

  /** stream offset where the record being received began, when one is */
  get partialStart(): number | undefined {
    return this.atBoundary ? undefined : this.recordStart;
  }

  push(offset: number, data: Buffer): void {
    let i = 0;
    while (i < data.length && !this.failed) {
      if (this.remaining === 0) {
        // Reading a (fragment) prefix.
        if (!this.inRecord && this.prefix.length === 0) this.recordStart = offset + i;
        const need = this.prefixLen - this.prefix.length;
        const take = Math.min(need, data.length - i);
        this.prefix = Buffer.concat([this.prefix, data.subarray(i, i + take)]);
        i += take;
        if (this.prefix.length < this.prefixLen) break;
        const p = this.parsePrefix(this.prefix);
        this.prefix = Buffer.alloc(0);
        if (typeof p === 'string') {
          this.failed = true;
          this.h.onError(p);
          return;
        }
        this.inRecord = true;
        this.remaining = p.len;
        this.recordLen += p.len;
        this.lastFragment = p.last;
        if (p.len === 0) this.maybeEnd(offset + i);
        continue;
      }
      const n = Math.min(this.remaining, data.length - i);
      if (!this.headDelivered && this.headLen < this.peek) {
        const want = Math.min(this.peek - this.headLen, n);
        this.headParts.push(Buffer.from(data.subarray(i, i + want)));
        this.headLen += want;
        if (this.headLen >= this.peek) this.deliverHead();
      }
      i += n;
      this.remaining -= n;
      if (this.remaining === 0) this.maybeEnd(offset + i);
    }
  }

  private lastFragment = true;

  private deliverHead(): void {
    this.headDelivered = true;
    this.h.onRecord(this.recordStart, Buffer.concat(this.headParts), this.recordLen);
    this.headParts = [];
  }

  private maybeEnd(end: number): void {
    if (!this.lastFragment) return;
    if (!this.headDelivered) this.deliverHead();
    this.h.onRecordEnd(end);
    this.inRecord = false;
    this.headParts = [];
    this.headLen = 0;
    this.recordLen = 0;
    this.headDelivered = false;
  }
}
