// ByteQueue (one growable buffer per queue of kept bytes) and RetainedBytes on top of it,
// checked against a plain array of bytes doing the same operations.
import t from 'tap';
import { ByteQueue } from '../../standby-agent/analyzers/byte-queue.js';
import { RetainedBytes } from '../../standby-agent/analyzers/retained-bytes.js';
import { prng } from '../helpers/prng.js';

/** a deterministic stream of integers in [0, n) */
function integers(seed: number) {
  const next = prng(seed);
  return (n: number) => Math.floor(next() * n);
}

t.test('ByteQueue: pushes, drops and copies agree with an array, across growth and compaction', async (t) => {
  const next = integers(7);
  const q = new ByteQueue();
  let model: number[] = [];
  let byte = 0;
  let checks = 0;
  let firstWrong: string | undefined;
  for (let i = 0; i < 5000 && firstWrong === undefined; i++) {
    const op = next(10);
    if (op < 5) {
      // sizes from 1 byte to well past the kept storage, so it grows, compacts and is let go
      const n = 1 + next(op === 0 ? 9000 : 700);
      const src = Buffer.alloc(n + 8);
      for (let k = 0; k < src.length; k++) src[k] = (byte + k) & 0xff;
      q.push(src, 4, 4 + n);
      for (let k = 0; k < n; k++) model.push((byte + 4 + k) & 0xff);
      byte += 13;
      src.fill(0); // the queue kept its own copy
    } else if (op < 9) {
      const n = next(model.length + 50);
      q.drop(n);
      model = model.slice(Math.min(n, model.length));
    } else {
      q.clear();
      model = [];
    }
    const from = next(model.length + 1);
    const got = q.copyFrom(from);
    checks++;
    if (q.length !== model.length) firstWrong = `step ${i}: length ${q.length}, expected ${model.length}`;
    else if (!got.equals(Buffer.from(model.slice(from))))
      firstWrong = `step ${i}: the bytes from ${from} differ`;
  }
  t.equal(firstWrong, undefined, 'every step agrees with the array');
  t.equal(checks, 5000, 'compared at every step');
});

t.test('ByteQueue: a copy stays as it was when the queue moves on', async (t) => {
  const q = new ByteQueue();
  q.push(Buffer.from('hello world'), 0, 11);
  const copy = q.copyFrom(6);
  q.drop(11);
  q.push(Buffer.from('xxxxxxxxxxxxxxxx'), 0, 16);
  t.equal(copy.toString(), 'world');
  t.equal(q.copyFrom().toString(), 'x'.repeat(16));
  t.equal(new ByteQueue().copyFrom().length, 0, 'an empty queue copies nothing');
});

t.test("ByteQueue: compact lets only an empty queue's storage go", async (t) => {
  const q = new ByteQueue();
  q.push(Buffer.from('abc'), 0, 3);
  q.compact();
  t.equal(q.copyFrom().toString(), 'abc', 'queued bytes stay');
  q.drop(3);
  q.compact();
  t.equal(q.length, 0);
  q.push(Buffer.from('de'), 0, 2);
  t.equal(q.copyFrom().toString(), 'de', 'a compacted queue takes bytes again');
});

t.test('RetainedBytes: a window of the stream, capped, trimmed as answered', async (t) => {
  const r = new RetainedBytes(10);
  r.append(0, Buffer.from('GET /a\r\n'));
  t.equal(r.slice(0)?.toString(), 'GET /a\r\n');
  t.equal(r.slice(4)?.toString(), '/a\r\n');
  t.equal(r.slice(8)?.length, 0, 'nothing past the end');
  r.dropTo(4);
  t.equal(r.start, 4);
  t.equal(r.slice(2), undefined, 'bytes before the window are gone');
  t.equal(r.lostBefore, 0, 'dropped because answered, not by the cap');
  r.append(8, Buffer.from('GET /bb\r\n'));
  t.equal(r.end, 17);
  t.equal(r.slice(7)?.toString(), '\nGET /bb\r\n', 'the last 10 bytes are kept');
  t.equal(r.start, 7);
  t.equal(r.lostBefore, 7, 'the cap dropped bytes nobody had answered');
  r.append(17, Buffer.from('0123456789abcdef'));
  t.equal(r.slice(23)?.toString(), '6789abcdef', 'a message longer than the cap keeps its tail');
  t.equal(r.lostBefore, 23);
  r.dropTo(100);
  t.equal(r.start, 33, 'dropping past the end empties the window at its end');
  t.equal(r.slice(33)?.length, 0);
  r.append(50, Buffer.from('next'));
  t.equal(r.start, 50, 'a gap in the stream starts the window afresh');
  t.equal(r.slice(50)?.toString(), 'next');
});
