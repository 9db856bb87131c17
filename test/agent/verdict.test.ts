// verdictFor is a pure function of one table entry: each rule is hit by changing one fact of a
// restorable entry (built from packets, so the starting point is realistic).
import t from 'tap';
import { decodeFrame } from '../../standby-agent/decode/frame.js';
import { ConnectionTable, type TrackedConnection } from '../../standby-agent/tracking/connection-table.js';
import { resetFor, verdictFor } from '../../standby-agent/tracking/verdict.js';
import { TcpDialogue } from '../fixtures/crafted/tcp-frames.js';

const SERVICE = { ip: '10.0.0.10', port: 80 };
const REQ = 'GET /x HTTP/1.1\r\nHost: s\r\n\r\n';
const REP = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';

function build(script: (d: TcpDialogue) => void, protocol: 'http' | 'generic' = 'http') {
  const d = new TcpDialogue({ ip: '10.0.0.1', port: 41000 }, SERVICE, { cIsn: 0xfffffff0, sIsn: 0xffffff00 });
  script(d);
  const table = new ConnectionTable({
    services: [SERVICE],
    protocols: { 80: protocol },
    maxUnackedBytes: 64,
  });
  for (const f of d.frames) {
    const s = decodeFrame(f.data);
    if (typeof s === 'string') throw new Error(s);
    table.onPacket(s, f.tsMs);
  }
  const c = [...table.entries()][0] as TrackedConnection;
  return { d, c };
}

const code = (c: TrackedConnection) => {
  const v = verdictFor(c, 0);
  return v.restorable ? 'restorable' : v.code;
};

t.test('restorable across sequence wrap, unanswered request in the receive queue', async (t) => {
  const { d, c } = build((d) => {
    d.handshake();
    d.fromClient('PA', REQ);
  });
  const v = verdictFor(c, 0);
  if (!v.restorable) throw t.fail(v.reason);
  t.equal(v.params.rcvNxt, d.cseq);
  t.ok(v.params.rcvNxt < 0x100, 'wrapped past 2^32');
  t.equal(v.params.recvQueue.toString(), REQ);
  t.equal(v.params.sndUna, d.sseq);
  t.equal(v.params.sndNxt, d.sseq);
});

t.test('reply in flight: its bytes go to the send queue', async (t) => {
  const { d, c } = build((d) => {
    d.handshake();
    d.fromClient('PA', REQ);
    d.fromService('PA', REP);
  });
  const v = verdictFor(c, 0);
  if (!v.restorable) throw t.fail(v.reason);
  t.equal(v.params.sendQueue.toString(), REP);
  t.equal(v.params.sndNxt, d.sseq);
  t.equal(v.params.sndUna, (d.sseq - REP.length) >>> 0);
  t.equal(v.params.recvQueue.length, 0, 'answered: nothing to replay');
});

t.test('reply partly sent -> restorable with the reply prefix (HTTP); not for generic', async (t) => {
  const { c } = build((d) => {
    d.handshake();
    d.fromClient('PA', REQ);
    d.fromService('PA', REP.slice(0, 20));
    d.fromClient('A');
  });
  const v = verdictFor(c, 0);
  if (!v.restorable) throw t.fail(v.reason);
  t.equal(v.params.replyPrefix?.toString(), REP.slice(0, 20));
  t.equal(v.params.recvQueue.toString(), REQ);
  t.equal(v.params.sendQueue.length, 0, 'the client acked the prefix');
});

t.test('reply partly sent, prefix not kept -> not restorable; reset at the client ack', async (t) => {
  const { d, c } = build((d) => {
    d.handshake();
    d.fromClient('PA', REQ);
    d.fromService('PA', REP.slice(0, 20));
    d.fromClient('A');
  });
  // the kept bytes of the unfinished reply lost (as when it outgrew the FIFO byte bound)
  const view = c.analyzer.view();
  const real = c.analyzer.view.bind(c.analyzer);
  c.analyzer.view = () => ({
    ...real(),
    partialReply: { start: view.partialReply?.start ?? 0, bytes: undefined },
  });
  t.equal(code(c), 'reply-partly-sent');
  t.same(resetFor(c), { src: SERVICE, dst: { ip: '10.0.0.1', port: 41000 }, seq: d.sseq });
});

t.test('a service segment lost before a later one (HTTP): restorable, the later bytes checked', async (t) => {
  const LONG = `HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n${'z'.repeat(60)}`;
  let gapAt = 0;
  const { c } = build((d) => {
    d.handshake();
    d.fromClient('PA', REQ);
    gapAt = d.sseq;
    d.sseq = (d.sseq + 50) >>> 0; // the first 50 bytes of the reply never reach the mirror (or the client)
    d.fromService('PA', LONG.slice(50));
  });
  const v = verdictFor(c, 0);
  if (!v.restorable) throw t.fail(v.reason);
  t.equal(v.params.recvQueue.toString(), REQ, 'the request is replayed');
  t.same(
    v.params.replyExpected?.map((e) => [e.at, e.bytes.toString()]),
    [[50, LONG.slice(50)]],
    'the held bytes, 50 bytes into the new reply',
  );
  t.equal(v.params.replyPrefix?.length, 0);
  t.equal(v.params.sndNxt, gapAt, 'the restored socket sends from where the bytes went missing');
  const g = build((d) => {
    d.handshake();
    d.fromClient('PA', REQ);
    d.sseq = (d.sseq + 50) >>> 0;
    d.fromService('PA', LONG.slice(50));
  }, 'generic');
  t.equal(code(g.c), 'service-data-gap', 'generic mode cannot re-create them');
});

t.test('in-flight bytes beyond the retention bound -> not restorable', async (t) => {
  const big = `HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'y'.repeat(100)}`;
  const { c } = build((d) => {
    d.handshake();
    d.fromClient('PA', REQ);
    d.fromService('PA', big);
  });
  t.equal(code(c), 'in-flight-not-retained');
});

t.test('generic protocol with data is not analysable', async (t) => {
  const { c } = build((d) => {
    d.handshake();
    d.fromClient('PA', 'hello');
  }, 'generic');
  t.equal(code(c), 'not-analysable');
});

t.test('generic protocol, handshake only: restorable (nothing to replay)', async (t) => {
  const { c } = build((d) => d.handshake(), 'generic');
  t.equal(code(c), 'restorable');
});

t.test('half-open and pickup cases', async (t) => {
  t.equal(code(build((d) => d.fromClient('S', '', { mss: 1460 })).c), 'handshake-incomplete');
  t.equal(
    code(
      build((d) => {
        d.fromClient('S', '', { mss: 1460 });
        d.fromService('SA', '', { mss: 1460 });
      }).c,
    ),
    'handshake-incomplete',
  );
  // SYN-ACK never mirrored: data flows but the service's options are unknown
  const { c } = build((d) => {
    d.fromClient('S', '', { mss: 1460, wscale: 7 });
    d.sseq += 1;
    d.fromClient('A');
    d.fromClient('PA', REQ);
  });
  t.equal(c.state, 'ESTABLISHED');
  t.equal(code(c), 'handshake-not-seen');
});

t.test('no window scaling when only one side offered it', async (t) => {
  const { c } = build((d) => {
    d.fromClient('S', '', { mss: 1460, wscale: 7, window: 100 });
    d.fromService('SA', '', { mss: 1400, window: 200 });
    d.fromClient('A', '', { window: 300 });
  });
  const v = verdictFor(c, 0);
  if (!v.restorable) throw t.fail(v.reason);
  t.equal(v.params.sndWscale, 0);
  t.equal(v.params.rcvWscale, 0);
  t.equal(v.params.window.sndWnd, 300);
  t.equal(v.params.window.rcvWnd, 200);
  t.equal(v.params.sackPermitted, false);
  t.equal(v.params.timestamps, undefined);
});

t.test('closing states are not restorable', async (t) => {
  const { c } = build((d) => {
    d.handshake();
    d.fromClient('FA');
  });
  t.equal(c.state, 'FIN_WAIT');
  t.equal(code(c), 'closing');
});

t.test('client data gap -> not restorable', async (t) => {
  const { c } = build((d) => {
    d.handshake();
    d.cseq += 5;
    d.fromClient('PA', REQ);
  });
  t.equal(code(c), 'client-data-gap');
});

t.test('the verdict is pure: same entry, same answer, entry untouched', async (t) => {
  const { c } = build((d) => {
    d.handshake();
    d.fromClient('PA', REQ);
  });
  const before = JSON.stringify({ client: c.client, server: c.server, state: c.state });
  const a = verdictFor(c, 1);
  const b = verdictFor(c, 99999);
  t.same(a, b);
  t.equal(JSON.stringify({ client: c.client, server: c.server, state: c.state }), before);
});
