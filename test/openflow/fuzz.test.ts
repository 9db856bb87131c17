// Bad input: truncated, over-long, wrong-version, wrong-length and randomly mutated messages
// must decode or throw OfpDecodeError, nothing else. Seeded, so any failure reproduces.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { decode, encode, OfpDecodeError, OfpFramer } from '../../controller/openflow/index.js';
import { prng } from '../helpers/prng.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = process.env.OF_VECTORS_DIR ?? resolve(repo, '../shared/openflow-vectors/of13');
const vectors = readdirSync(join(dir, 'packet'))
  .filter((f) => f.endsWith('.packet'))
  .map((f) => readFileSync(join(dir, 'packet', f)));
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const MUTATIONS = Number(process.env.FUZZ_MUTATIONS ?? 120_000);

function fixLength(b: Buffer): Buffer {
  if (b.length >= 4 && b.length <= 0xffff) b.writeUInt16BE(b.length, 2);
  return b;
}

/** decode must return a message or throw OfpDecodeError; a decoded message must re-encode. */
function check(b: Buffer): 'ok' | 'error' | string {
  try {
    const m = decode(b);
    try {
      encode(m);
    } catch (e) {
      return `re-encode threw ${(e as Error).message}`;
    }
    return 'ok';
  } catch (e) {
    if (e instanceof OfpDecodeError) {
      if (typeof e.offset !== 'number' || !e.reason) return 'OfpDecodeError without offset/reason';
      return 'error';
    }
    return `threw ${(e as Error).name}: ${(e as Error).message}`;
  }
}

t.test('structured bad input is rejected with OfpDecodeError', async (t) => {
  const v = vectors[0];
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['7 bytes', v.subarray(0, 7)],
    ['wrong version', Buffer.concat([Buffer.from([0x01]), v.subarray(1)])],
    ['length says more', Buffer.from(v).fill(0xff, 2, 3)],
    ['over-long (trailing bytes)', fixLength(Buffer.concat([v, Buffer.alloc(8)]))],
    ['unknown type', Buffer.from([4, 99, 0, 8, 0, 0, 0, 0])],
  ];
  for (const [name, b] of cases) {
    t.equal(check(b), 'error', name);
  }
  for (const vec of vectors) {
    for (const cut of [8, Math.floor(vec.length / 2), vec.length - 1]) {
      if (cut >= vec.length) continue;
      const r = check(fixLength(Buffer.from(vec.subarray(0, cut))));
      t.ok(r === 'ok' || r === 'error', `truncated to ${cut}: ${r}`);
    }
  }
});

t.test(`random mutations (seed ${SEED}, ${MUTATIONS})`, async (t) => {
  t.comment(`fuzz seed ${SEED} (rerun with FUZZ_SEED=${SEED}), ${MUTATIONS} mutations`);
  const started = Date.now();
  const rand = prng(SEED);
  const outcomes = { ok: 0, error: 0 };
  const failures: string[] = [];
  for (let i = 0; i < MUTATIONS; i++) {
    const src = vectors[Math.floor(rand() * vectors.length)];
    let b: Buffer = Buffer.from(src);
    const kind = Math.floor(rand() * 6);
    const flips = 1 + Math.floor(rand() * 4);
    if (kind === 0)
      for (let f = 0; f < flips; f++)
        b[8 + Math.floor(rand() * (b.length - 8))] ^= 1 << Math.floor(rand() * 8);
    else if (kind === 1)
      for (let f = 0; f < flips; f++) b[8 + Math.floor(rand() * (b.length - 8))] = Math.floor(rand() * 256);
    else if (kind === 2) b = fixLength(Buffer.from(b.subarray(0, 8 + Math.floor(rand() * (b.length - 8)))));
    else if (kind === 4) {
      // the body of one message read as another type (same length, so only the body lies)
      b[1] = Math.floor(rand() * 36);
    } else if (kind === 5) {
      // bytes inserted or removed inside the body, header length kept consistent
      const at = 8 + Math.floor(rand() * (b.length - 7));
      const n = 1 + Math.floor(rand() * 16);
      b =
        rand() < 0.5
          ? Buffer.concat([b.subarray(0, at), Buffer.alloc(n, Math.floor(rand() * 256)), b.subarray(at)])
          : Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))]);
      fixLength(b);
    } else {
      // a length field inside the body: set a random u16 to a random small or huge value
      const at = 8 + Math.floor(rand() * Math.max(1, b.length - 9));
      if (at + 2 <= b.length)
        b.writeUInt16BE(rand() < 0.5 ? Math.floor(rand() * 16) : 0xffff - Math.floor(rand() * 16), at);
    }
    const r = check(b);
    if (r === 'ok' || r === 'error') outcomes[r]++;
    else if (failures.length < 5) failures.push(`#${i}: ${r} (${b.toString('hex').slice(0, 80)})`);
  }
  t.same(failures, [], 'only messages or OfpDecodeError');
  t.ok(outcomes.error > 0 && outcomes.ok > 0, `both outcomes seen: ${JSON.stringify(outcomes)}`);
  t.comment(`${MUTATIONS} mutations in ${Date.now() - started} ms`);
});

t.test('framer: split, coalesced and 1-byte reads give the same messages', async (t) => {
  const stream = Buffer.concat(vectors.slice(0, 20));
  const whole = new OfpFramer().push(stream);
  t.equal(whole.length, 20);
  const f1 = new OfpFramer();
  const bytewise: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) bytewise.push(...f1.push(stream.subarray(i, i + 1)));
  t.same(
    bytewise.map((b) => b.toString('hex')),
    whole.map((b) => b.toString('hex')),
  );
  const f2 = new OfpFramer();
  const odd: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 37) odd.push(...f2.push(stream.subarray(i, i + 37)));
  t.equal(odd.length, 20);
  t.equal(f2.buffered, 0);
  t.throws(
    () => new OfpFramer().push(Buffer.from([4, 0, 0, 3, 0, 0, 0, 0])),
    OfpDecodeError,
    'length < 8 is not OpenFlow',
  );
});

t.test('framer: random chunking of a random mix of vectors (seeded)', async (t) => {
  const rand = prng(SEED ^ 0xf4a3e);
  for (let round = 0; round < 50; round++) {
    const picked = Array.from({ length: 1 + Math.floor(rand() * 30) }, () =>
      Math.floor(rand() * vectors.length),
    );
    const stream = Buffer.concat(picked.map((i) => vectors[i]));
    const framer = new OfpFramer();
    const got: Buffer[] = [];
    for (let o = 0; o < stream.length; ) {
      const n = 1 + Math.floor(rand() * 300);
      got.push(...framer.push(stream.subarray(o, o + n)));
      o += n;
    }
    if (got.length !== picked.length || got.some((b, k) => !b.equals(vectors[picked[k]]))) {
      t.fail(`round ${round}: ${got.length} of ${picked.length} messages, or different bytes`);
      return;
    }
    t.equal(framer.buffered, 0, `round ${round}: nothing left over`);
  }
  // a partial message stays buffered until its last byte arrives, and never beyond 65535 bytes
  const f = new OfpFramer();
  t.same(f.push(Buffer.from([4, 2, 0xff, 0xff, 0, 0, 0, 1])), []);
  t.same(f.push(Buffer.alloc(0xffff - 9)), []);
  t.equal(f.buffered, 0xffff - 1);
  const [echo] = f.push(Buffer.from([0, 0xaa]));
  t.equal(echo.length, 0xffff);
  t.equal(f.buffered, 1, 'the byte after the message starts the next one');
  const m = decode(echo);
  t.equal(m.type, 'echo_request');
});
