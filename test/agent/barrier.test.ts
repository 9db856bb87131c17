// The capture barrier's pure parts: the marker frame decodes as a marker and nothing else does,
// the pipeline hands markers over instead of tracking them, and a barrier resolves when its own
// token comes back, not on another, and says so when it cannot pass.
import t from 'tap';
import { parseMac } from '../../controller/packets/addresses.js';
import { BARRIER_ECHO_MAC } from '../../controller/packets/barrier-marker.js';
import { barrierFrame, CaptureBarrier, isBarrier, isEcho } from '../../standby-agent/capture/barrier.js';
import { decodeInto, TcpSegment } from '../../standby-agent/decode/frame.js';
import { Pipeline } from '../../standby-agent/pipeline.js';
import { ConnectionTable } from '../../standby-agent/tracking/connection-table.js';
import { buildTcpRst } from '../../controller/packets/tcp-rst.js';

const MAC = '02:00:00:00:00:02';

t.test('the marker decodes as a barrier with its token; a real RST does not', async (t) => {
  for (const ip of ['10.9.0.1', 'fd00::1']) {
    const seg = new TcpSegment();
    const f = barrierFrame(MAC, ip, 0xfedcba98);
    t.equal(decodeInto(seg, f, 0, f.length), undefined, `${ip}: decodes`);
    t.ok(isBarrier(seg), `${ip}: a barrier`);
    t.equal(seg.seq, 0xfedcba98, 'the token is its sequence number');
    t.equal(f.subarray(0, 6).toString('hex'), '020000000002', 'addressed to the interface itself');
    t.notOk(isEcho(seg), "the agent's own copy");
    const echo = Buffer.from(f);
    parseMac(BARRIER_ECHO_MAC).copy(echo, 0);
    decodeInto(seg, echo, 0, echo.length);
    t.ok(isBarrier(seg) && isEcho(seg), "the switch's echo (its destination rewritten)");
  }
  const seg = new TcpSegment();
  const rst = buildTcpRst({
    srcMac: MAC,
    dstMac: MAC,
    srcIp: '10.9.0.1',
    dstIp: '10.9.0.2',
    srcPort: 9,
    dstPort: 9,
    seq: 1,
  });
  decodeInto(seg, rst, 0, rst.length);
  t.notOk(isBarrier(seg), 'port 9 between two hosts is a connection, not a marker');
});

t.test('the pipeline hands markers to onBarrier and does not track them', async (t) => {
  const table = new ConnectionTable({ services: [{ ip: '10.9.0.1', port: 80 }] });
  const p = new Pipeline(table);
  const seen: Array<[number, boolean]> = [];
  p.onBarrier = (token, echoed) => seen.push([token, echoed]);
  const f = barrierFrame(MAC, '10.9.0.1', 7);
  p.onBytes(f, 0, f.length, 0);
  parseMac(BARRIER_ECHO_MAC).copy(f, 0);
  p.onBytes(f, 0, f.length, 0);
  t.same(seen, [
    [7, false],
    [7, true],
  ]);
  t.equal(table.size, 0);
});

t.test("a barrier passes on its own token's echo only, and times out otherwise", async (t) => {
  const sent: number[] = [];
  const b = new CaptureBarrier((token) => sent.push(token));
  const first = b.pass(200, 0);
  await new Promise((r) => setTimeout(r, 5));
  b.seen((sent[0] + 1) >>> 0, true); // someone else's marker
  b.seen(sent[0], false); // our own copy: not yet
  let passed = false;
  void first.then(() => {
    passed = true;
  });
  await new Promise((r) => setTimeout(r, 5));
  t.notOk(passed, 'our own copy alone does not pass it');
  b.seen(sent[0], true);
  const r = await first;
  t.equal(r.ok, true);
  t.ok(r.ms < 200, `passed in ${r.ms} ms`);
  const notEchoed = b.pass(30, 0);
  b.seen(sent[1], false);
  const late = await notEchoed;
  t.match(late, { ok: false, error: /did not send the marker back/ }, 'not echoed: says so');
  t.ok(late.ms >= 29, 'after the timeout');
  t.match(await b.pass(30, 0), { ok: false, error: /not captured/ }, 'not even our copy: says that');
  t.not(sent[1], sent[0], 'each barrier has its own token');
  const broken = new CaptureBarrier(() => {
    throw new Error('sendFrame: eth9: No such device');
  });
  t.match(
    await broken.pass(1000, 0),
    { ok: false, error: /No such device/ },
    'a send failure is said at once',
  );
});

/** A barrier whose markers come back on the next turn, each after `late[i]` more of the
 *  service's frames (the fenced port's queue still being forwarded); `lost`: that marker
 *  never comes back. */
function fencedSwitch(late: number[], lost = -1) {
  let frames = 0;
  let sends = 0;
  const b: CaptureBarrier = new CaptureBarrier(
    (token) => {
      const i = sends++;
      if (i === lost) return;
      setImmediate(() => {
        frames += late[i] ?? 0;
        b.seen(token, true);
      });
    },
    () => frames,
  );
  return { b, sends: () => sends, frames: () => frames };
}

t.test('passUntilQuiet: one marker when nothing of the service came after the fence', async (t) => {
  const sw = fencedSwitch([0, 0]);
  const r = await sw.b.passUntilQuiet(() => false, 200, 0);
  t.match(r, { ok: true, rounds: 1, quiet: true });
  t.equal(sw.sends(), 1, 'no second marker');
});

t.test('passUntilQuiet: markers until one comes back with none of the service before it', async (t) => {
  // after the fence, the switch still forwards the service's queued frames: 3 before the first
  // marker, 32 and 5 before the next two; the fourth comes back with none before it
  const sw = fencedSwitch([3, 32, 5, 0, 0]);
  const r = await sw.b.passUntilQuiet(() => sw.frames() > 0, 200, 0);
  t.match(r, { ok: true, rounds: 4, lateServiceFrames: 37, quiet: true });
  t.equal(sw.sends(), 4, 'stops at the quiet round');
});

t.test('passUntilQuiet: gives up after maxMs, not quiet, and says how many frames kept coming', async (t) => {
  const sw = fencedSwitch(Array(10_000).fill(1));
  const r = await sw.b.passUntilQuiet(() => true, 200, 0, 20);
  t.match(r, { ok: true, quiet: false });
  t.ok(r.ms >= 20 && r.ms < 200, `gave up after ${r.ms} ms`);
  t.ok((r.rounds ?? 0) > 2, `${r.rounds} markers`);
  t.equal(r.lateServiceFrames, (r.rounds ?? 0) - 1, 'one frame before each marker after the first');
  t.equal(sw.sends(), r.rounds);
});

t.test('passUntilQuiet: a later marker lost is a failed barrier, with its error', async (t) => {
  const sw = fencedSwitch([2, 2, 0], 1);
  const r = await sw.b.passUntilQuiet(() => true, 30, 0);
  t.match(r, { ok: false, rounds: 2, error: /not captured/ });
  t.equal(r.quiet, undefined, 'a failed barrier says nothing of quiet');
  t.ok(r.ms >= 29, `after the second marker's timeout (${r.ms} ms)`);
  const first = fencedSwitch([2], 0);
  const lost = await first.b.passUntilQuiet(() => true, 30, 0);
  t.match(lost, { ok: false, rounds: 1 }, 'the first lost');
  t.equal(lost.quiet, undefined);
});
