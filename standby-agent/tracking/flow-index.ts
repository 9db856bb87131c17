// An open-addressing hash index from an IPv4 4-tuple (three 32-bit words) to a value: the
// per-packet lookup of the connection table. Numbers in typed arrays, no key strings, so a
// lookup allocates nothing. Linear probing; deletions leave tombstones that a rehash clears.
const EMPTY = 0;
const FULL = 1;
const DELETED = 2;

/** `new Array(n)` above ~100k elements gets slow dictionary storage; pushing keeps it a packed array */
function emptySlots<V>(n: number): (V | undefined)[] {
  const a: (V | undefined)[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}

export class FlowIndex<V> {
  private capacity: number;
  private mask: number;
  private keys: Int32Array;
  private state: Uint8Array;
  private values: (V | undefined)[];
  private used = 0;
  private tombstones = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.keys = new Int32Array(cap * 3);
    this.state = new Uint8Array(cap);
    this.values = emptySlots(cap);
  }

  get size(): number {
    return this.used;
  }

  private slot(a: number, b: number, c: number): number {
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ b ^ (h >>> 15), 0xc2b2ae35);
    h = Math.imul(h ^ c ^ (h >>> 13), 0x27d4eb2f);
    return (h ^ (h >>> 16)) & this.mask;
  }

  /** index of the slot holding (a, b, c), or -1 */
  private find(a: number, b: number, c: number): number {
    const k = this.keys;
    let i = this.slot(a, b, c);
    for (;;) {
      const s = this.state[i];
      if (s === EMPTY) return -1;
      if (s === FULL && k[i * 3] === (a | 0) && k[i * 3 + 1] === (b | 0) && k[i * 3 + 2] === (c | 0))
        return i;
      i = (i + 1) & this.mask;
    }
  }

  get(a: number, b: number, c: number): V | undefined {
    const i = this.find(a, b, c);
    return i < 0 ? undefined : this.values[i];
  }

  set(a: number, b: number, c: number, value: V): void {
    const at = this.find(a, b, c);
    if (at >= 0) {
      this.values[at] = value;
      return;
    }
    if ((this.used + this.tombstones + 1) * 2 > this.capacity) this.rehash();
    let i = this.slot(a, b, c);
    while (this.state[i] === FULL) i = (i + 1) & this.mask;
    if (this.state[i] === DELETED) this.tombstones--;
    this.state[i] = FULL;
    this.keys[i * 3] = a;
    this.keys[i * 3 + 1] = b;
    this.keys[i * 3 + 2] = c;
    this.values[i] = value;
    this.used++;
  }

  delete(a: number, b: number, c: number): boolean {
    const i = this.find(a, b, c);
    if (i < 0) return false;
    this.state[i] = DELETED;
    this.values[i] = undefined;
    this.used--;
    this.tombstones++;
    return true;
  }

  /** grow when at least a quarter is live, otherwise rebuild at the same size (clears tombstones) */
  private rehash(): void {
    const { keys, state, values, capacity } = this;
    const grow = (this.used + 1) * 4 > capacity;
    const cap = grow ? capacity * 2 : capacity;
    this.capacity = cap;
    this.mask = cap - 1;
    this.keys = new Int32Array(cap * 3);
    this.state = new Uint8Array(cap);
    this.values = emptySlots(cap);
    this.used = 0;
    this.tombstones = 0;
    for (let i = 0; i < capacity; i++) {
      if (state[i] === FULL) this.set(keys[i * 3], keys[i * 3 + 1], keys[i * 3 + 2], values[i] as V);
    }
  }
}
