// The restore batch's checks and packing (restore-batch.ts), without the kernel: what the addon's
// restorePacked() gets, and where its answers go.
import t from 'tap';
import type { RepairError, RepairSpec } from '../../standby-agent/restore/repair-addon.js';
import {
  PACKED_WORDS,
  packRestoreSpecs,
  restoreBatch,
  specProblem,
} from '../../standby-agent/restore/restore-batch.js';

const good: RepairSpec = {
  localIp: '10.0.0.1',
  localPort: 80,
  remoteIp: '10.0.0.9',
  remotePort: 40000,
  sendSeq: 0xffff_fff0,
  recvSeq: 7,
  mss: 1460,
  sndWscale: 7,
  rcvWscale: 9,
  sack: true,
  tsVal: 123,
  window: { sndWl1: 7, sndWnd: 64240, maxWindow: 65535, rcvWnd: 29200, rcvWup: 7 },
  recvQueue: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
};

t.test('each bad field is named, in the order the addon checked them', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /each entry must be an object/],
    [{ ...good, family: 5 }, /family must be 4 or 6/],
    [{ ...good, localIp: 1 }, /localIp must be a string/],
    [{ ...good, remotePort: undefined }, /remotePort is required/],
    [{ ...good, localPort: '80' }, /localPort must be a number/],
    [{ ...good, remotePort: 70000 }, /ports must be in 1..65535/],
    [{ ...good, localPort: 0 }, /ports must be in 1..65535/],
    [{ ...good, sendSeq: -1 }, /sendSeq must be an integer in \[0, 2\^32\)/],
    [{ ...good, recvSeq: 2 ** 32 }, /recvSeq must be an integer/],
    [{ ...good, recvSeq: 1.5 }, /recvSeq must be an integer/],
    [{ ...good, mss: Number.NaN }, /mss must be an integer/],
    [{ ...good, sndWscale: 15 }, /window scales must be in 0..14/],
    [{ ...good, tsVal: '1' }, /tsVal must be a number/],
    [{ ...good, window: 5 }, /window must be an object/],
    [{ ...good, window: { ...good.window, rcvWup: undefined } }, /rcvWup is required/],
    [{ ...good, recvQueue: 'bytes' }, /recvQueue must be a Buffer/],
    [{ ...good, sendQueue: [1, 2] }, /sendQueue must be a Buffer/],
  ];
  for (const [spec, why] of cases) t.match(specProblem(spec as RepairSpec), why, String(why));
  t.equal(specProblem(good), undefined, 'a complete spec passes');
  const { window: _w, recvQueue: _q, mss: _m, tsVal: _t, sack: _s, ...bare } = good;
  t.equal(specProblem(bare), undefined, 'so does one with only the required fields');
});

t.test('packing: words per socket, one table of addresses, one buffer of queued bytes', async (t) => {
  const second: RepairSpec = {
    ...good,
    family: 6,
    localIp: 'fd00::1',
    remoteIp: 'fd00::9',
    remotePort: 65535,
    sack: false,
    tsVal: undefined,
    window: undefined,
    recvQueue: undefined,
    sendQueue: Buffer.from('HTTP/1.1 200'),
    transparent: true,
  };
  const third: RepairSpec = { ...good, remotePort: 40001, recvQueue: Buffer.from('x') };
  const p = packRestoreSpecs([good, { ...good, sendSeq: -1 }, second, third]);
  t.same(p.slots, [0, 2, 3], 'the valid specs, in order');
  t.same([...p.invalid], [[1, 'sendSeq must be an integer in [0, 2^32)']], 'the invalid one, with why');
  t.same(p.ips, ['10.0.0.1', '10.0.0.9', 'fd00::1', 'fd00::9'], 'each address once');
  t.equal(p.words.length, 3 * PACKED_WORDS);
  const w = (k: number) => [...p.words.subarray(k * PACKED_WORDS, (k + 1) * PACKED_WORDS)];
  // flags (v6 1, sack 2, timestamps 4, window 8, transparent 16), addresses, ports, sequence
  // numbers, MSS, scales, TSval, window, then the queues' offsets and lengths
  t.same(
    w(0),
    [
      14,
      0,
      1,
      (80 | (40000 << 16)) >>> 0,
      0xffff_fff0,
      7,
      1460,
      7 | (9 << 8),
      123,
      7,
      64240,
      65535,
      29200,
      7,
      0,
      18,
      0,
      0,
    ],
    'the first socket',
  );
  t.same(w(1), [
    17,
    2,
    3,
    (80 | (65535 << 16)) >>> 0,
    0xffff_fff0,
    7,
    1460,
    7 | (9 << 8),
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    18,
    12,
  ]);
  t.same(w(2).slice(14), [30, 1, 0, 0], "the third's receive queue after the second's send queue");
  t.equal(p.bytes.toString(), 'GET / HTTP/1.1\r\n\r\nHTTP/1.1 200x', 'the queued bytes, back to back');
});

t.test('restoreBatch: the addon gets the valid ones; each answer goes back to its spec', async (t) => {
  const calls: Array<{ n: number; threads?: number }> = [];
  const native = {
    restorePacked(words: Uint32Array, _ips: string[], _bytes: Buffer, threads?: number) {
      const n = words.length / PACKED_WORDS;
      calls.push({ n, threads });
      // fd = the remote port, so the test sees which spec each answer belongs to
      return Array.from({ length: n }, (_, k) => words[k * PACKED_WORDS + 3] >>> 16);
    },
  };
  const specs = [good, { ...good, remotePort: 0 }, { ...good, remotePort: 41000 }];
  const out = restoreBatch(native, specs, 2);
  t.same(calls, [{ n: 2, threads: 2 }], 'one call, with the valid two and the threads asked');
  t.equal(out[0], 40000);
  t.match(out[1], { step: 'validate', code: 'EINVAL', errno: 22, message: /invalid restore spec: ports/ });
  t.ok(out[1] instanceof TypeError, 'a TypeError, as before');
  t.equal(out[2], 41000);
  calls.length = 0;
  const none = restoreBatch(native, [{ ...good, mss: -5 }]);
  t.equal(calls.length, 0, 'nothing valid: the addon is not called');
  t.match(none[0] as RepairError, { step: 'validate' });
});
