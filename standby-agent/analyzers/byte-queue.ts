// Bytes kept in one growable buffer per queue, appended at the back and dropped from the front.
// The tracker keeps each connection's requests for replay, its reply in progress and its
// unacknowledged service bytes in these. A Buffer per captured segment (and Node's pool slabs
// behind them) was most of the agent's garbage: at 1,000 connections, a scavenge of 4-20 ms
// about every 0.35 s, one of them now and then inside a failover. An emptied queue keeps its
// storage for the next message until the connection goes idle (compact).

/** storage up to this size stays with the queue when it empties (the next message reuses it) */
const KEEP_BYTES = 4096;
const MIN_BYTES = 256;

export class ByteQueue {
  /** its own ArrayBuffer (not a slice of Node's pool, which one small kept buffer would pin) */
  private store: Buffer | undefined;
  private head = 0;
  length = 0;

  /** appends bytes [start, end) of `src` (copied: capture buffers are reused) */
  push(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    let store = this.store;
    if (store === undefined || this.head + this.length + n > store.length) {
      // moved to the front only once at least half the storage was consumed: a queue kept
      // nearly full (a stream with much in flight) would otherwise move all of it per segment
      if (store !== undefined && this.length + n <= store.length && this.head >= store.length >>> 1) {
        store.copyWithin(0, this.head, this.head + this.length);
      } else {
        let size = store === undefined ? MIN_BYTES : store.length * 2;
        while (size < this.length + n) size *= 2;
        const grown = Buffer.allocUnsafeSlow(size);
        if (store !== undefined) store.copy(grown, 0, this.head, this.head + this.length);
        this.store = store = grown;
      }
      this.head = 0;
    }
    src.copy(store, this.head + this.length, start, end);
    this.length += n;
  }

  /** forgets the first n bytes */
  drop(n: number): void {
    if (n >= this.length) {
      this.clear();
      return;
    }
    if (n <= 0) return;
    this.head += n;
    this.length -= n;
  }

  clear(): void {
    this.head = 0;
    this.length = 0;
    if (this.store !== undefined && this.store.length > KEEP_BYTES) this.store = undefined;
  }

  /** lets the kept storage go if nothing is queued (an idle connection's) */
  compact(): void {
    if (this.length === 0) this.store = undefined;
  }

  /** a copy of bytes [from, length) */
  copyFrom(from = 0): Buffer {
    const n = Math.max(0, this.length - from);
    const out = Buffer.allocUnsafe(n);
    if (n > 0 && this.store !== undefined) this.store.copy(out, 0, this.head + from, this.head + this.length);
    return out;
  }
}
