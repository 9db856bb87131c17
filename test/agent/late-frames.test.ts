// Late client segments (capture/late-frames.ts): once a failover has taken its last view, the
// segments to a service endpoint that the mirror still brings are handed on, whole, and nothing
// else: not the capture barrier's markers, not other addresses or ports, not what does not decode.
import t from 'tap';
import { barrierFrame } from '../../standby-agent/capture/barrier.js';
import { LateClientFrames } from '../../standby-agent/capture/late-frames.js';
import { tcpFrame } from '../fixtures/crafted/tcp-frames.js';

const SVC = '10.9.0.1';

t.test('segments to a service endpoint are handed on; the rest is not', async (t) => {
  const handed: Buffer[] = [];
  const late = new LateClientFrames(
    [
      { ip: SVC, port: 80 },
      { ip: 'fd00::1', port: 0 },
    ],
    (f) => handed.push(Buffer.from(f)),
  );
  const request = tcpFrame({
    src: '10.9.0.10',
    dst: SVC,
    sport: 40000,
    dport: 80,
    seq: 7,
    ack: 9,
    flags: 'PA',
    payload: 'GET / HTTP/1.1\r\n\r\n',
  });
  const capture = Buffer.alloc(2048); // the capture's shared buffer: the frame is at its start
  request.copy(capture);
  late.onFrame(capture, 0, request.length);
  t.equal(handed.length, 1, 'a request to the service');
  t.same(handed[0], request, 'the frame exactly, not the rest of the capture buffer');

  const v6 = tcpFrame({ src: 'fd00::10', dst: 'fd00::1', sport: 40001, dport: 8080, seq: 1, flags: 'S' });
  late.onFrame(v6, 0, v6.length);
  t.equal(handed.length, 2, 'IPv6, a service with every port');

  for (const [what, f] of [
    ['another port', tcpFrame({ src: '10.9.0.10', dst: SVC, sport: 40000, dport: 81, seq: 1, flags: 'A' })],
    [
      'another address',
      tcpFrame({ src: '10.9.0.10', dst: '10.9.0.2', sport: 40000, dport: 80, seq: 1, flags: 'A' }),
    ],
    [
      'from the service',
      tcpFrame({ src: SVC, dst: '10.9.0.10', sport: 80, dport: 40000, seq: 1, flags: 'A' }),
    ],
    ['a capture barrier marker', barrierFrame('02:00:00:00:00:02', SVC, 5)],
    ['not IP', Buffer.alloc(60)],
  ] as const) {
    late.onFrame(f, 0, f.length);
    t.equal(handed.length, 2, `not handed on: ${what}`);
  }
  t.same(late.counts, { passed: 2, failed: 0 });
});

t.test('a segment that cannot be handed on is counted with the reason', async (t) => {
  const late = new LateClientFrames([{ ip: SVC, port: 80 }], () => {
    throw new Error('injectIp: Operation not permitted');
  });
  const f = tcpFrame({ src: '10.9.0.10', dst: SVC, sport: 40000, dport: 80, seq: 1, flags: 'A' });
  late.onFrame(f, 0, f.length);
  t.same(late.counts, { passed: 0, failed: 1, lastError: 'injectIp: Operation not permitted' });
});
