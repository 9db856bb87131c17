// The numeric 4-tuple index behind the connection table's per-packet lookup, against a Map
// reference under random inserts, updates and deletes (tombstones, rehash at the same size,
// growth), with keys that collide in every word but one.
import t from 'tap';
import { FlowIndex } from '../../standby-agent/tracking/flow-index.js';

t.test('get/set/delete match a Map through growth and tombstone rebuilds', async (t) => {
  const index = new FlowIndex<number>(4);
  const ref = new Map<string, number>();
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  // small key space so that the same keys come back after deletion
  const key = () => [0x0a000000 + (rnd() % 64), 0x0a00000a, ((1024 + (rnd() % 32)) << 16) | 80] as const;
  let mismatches = 0;
  for (let step = 0; step < 200_000; step++) {
    const [a, b, c] = key();
    const k = `${a}|${b}|${c}`;
    const op = rnd() % 3;
    if (op === 0) {
      index.set(a, b, c, step);
      ref.set(k, step);
    } else if (op === 1) {
      if (index.delete(a, b, c) !== ref.delete(k)) mismatches++;
    } else if (index.get(a, b, c) !== ref.get(k)) mismatches++;
    if (index.size !== ref.size) mismatches++;
  }
  t.equal(mismatches, 0, 'no lookup, delete or size differs from the Map');
  for (const [k, v] of ref) {
    const [a, b, c] = k.split('|').map(Number);
    if (index.get(a, b, c) !== v) mismatches++;
  }
  t.equal(mismatches, 0, 'every surviving key found with its latest value');
});

t.test('100,000 distinct flows, u32 addresses above 2^31, then all removed', async (t) => {
  const index = new FlowIndex<number>();
  const n = 100_000;
  for (let i = 0; i < n; i++) index.set(0xc0a80000 + i, 0xfffffffe, ((i % 60000) << 16) | 443, i);
  t.equal(index.size, n);
  let found = 0;
  for (let i = 0; i < n; i++)
    if (index.get(0xc0a80000 + i, 0xfffffffe, ((i % 60000) << 16) | 443) === i) found++;
  t.equal(found, n, 'all found');
  t.equal(
    index.get(0xc0a80000, 0xfffffffe, (1 << 16) | 443),
    undefined,
    'a different port is a different flow',
  );
  for (let i = 0; i < n; i++) index.delete(0xc0a80000 + i, 0xfffffffe, ((i % 60000) << 16) | 443);
  t.equal(index.size, 0);
  t.equal(index.get(0xc0a80000 + 5, 0xfffffffe, (5 << 16) | 443), undefined);
});
