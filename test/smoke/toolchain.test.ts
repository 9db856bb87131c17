import t from 'tap';

t.test('toolchain runs TypeScript tests', async (t) => {
  const n: bigint = 2n ** 64n - 1n;
  t.equal(n.toString(16), 'ffffffffffffffff');
});
