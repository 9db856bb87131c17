// Completing a reply the service died in the middle of: the standby's own service answers the
// replayed request, and the client must see one consistent reply. So the new reply's first
// bytes must be exactly those the client already has (or has in flight); only the remainder
// is sent. HTTP replies carry the time they were made in `Date`, which is the one header a
// second instance cannot reproduce: its value may differ (at the same length, so every later
// byte still lines up). Anything else differing means another reply: the client is reset.
const DATE = 'date:';
const CR = 0x0d;
const LF = 0x0a;

/** [start, end) of the value of the first `Date:` header line in an HTTP head, if any */
function dateValueRange(b: Buffer): [number, number] | undefined {
  if (b.length === 0) return undefined;
  let ls = b.indexOf(LF) + 1; // skip the status line
  while (ls > 0 && ls < b.length && b[ls] !== CR && b[ls] !== LF) {
    let le = b.indexOf(LF, ls);
    if (le < 0) le = b.length;
    let match = le - ls > DATE.length;
    for (let k = 0; match && k < DATE.length; k++)
      if ((b[ls + k] | 0x20) !== DATE.charCodeAt(k)) match = false;
    if (match) return [ls + DATE.length, le];
    ls = le + 1;
  }
  return undefined;
}

/** Bytes the client already has at a known place in the reply (offset from its first byte). */
export interface KnownBytes {
  at: number;
  bytes: Buffer;
}

/** undefined when `actual` starts with `expected` (up to the Date value), else why not */
export function replyPrefixMismatch(expected: Buffer, actual: Buffer): string | undefined {
  return replyMismatch([{ at: 0, bytes: expected }], actual);
}

/** undefined when `actual` holds every known region (the Date value aside), else why not */
export function replyMismatch(known: KnownBytes[], actual: Buffer): string | undefined {
  const need = Math.max(0, ...known.map((k) => k.at + k.bytes.length));
  if (actual.length < need) return `the new reply is shorter (${actual.length} bytes) than what was sent`;
  // the Date value's place, from the new reply's head (complete, unlike what was sent)
  const date = dateValueRange(actual.subarray(0, Math.max(0, actual.indexOf('\r\n\r\n') + 2)));
  for (const { at, bytes } of known) {
    for (let j = 0; j < bytes.length; j++) {
      const i = at + j;
      if (bytes[j] === actual[i]) continue;
      if (date && i >= date[0] && i < date[1]) continue;
      const line = actual.toString('latin1', actual.lastIndexOf(LF, i) + 1, i + 1).slice(0, 60);
      return `the new reply differs at byte ${i} (in "${line}")`;
    }
  }
  return undefined;
}

/** Collects the local service's first bytes until every known region can be checked. */
export class ReplyPrefixCheck {
  private parts: Buffer[] = [];
  private got = 0;
  private readonly known: KnownBytes[];
  private readonly need: number;

  /** `prefix`: the reply's first bytes, already sent; `later`: bytes known further on */
  constructor(
    private readonly prefix: Buffer,
    later: KnownBytes[] = [],
  ) {
    this.known = [{ at: 0, bytes: prefix }, ...later];
    this.need = Math.max(0, ...this.known.map((k) => k.at + k.bytes.length));
  }

  /** `done` with the bytes after the prefix, `mismatch` with a reason, or neither (need more) */
  push(chunk: Buffer): { done: true; rest: Buffer } | { mismatch: string } | undefined {
    this.parts.push(chunk);
    this.got += chunk.length;
    if (this.got < this.need) return undefined;
    const all = Buffer.concat(this.parts);
    this.parts = [];
    const why = replyMismatch(this.known, all);
    if (why) return { mismatch: why };
    return { done: true, rest: all.subarray(this.prefix.length) };
  }
}
