// Application analyzers on byte streams: every protocol fed whole and one byte at a time must
// agree; pairing, interim replies, bounds and the two restore answers (replayFrom, replyBoundary).
import t, { type Test } from 'tap';
import { createAnalyzer } from '../../standby-agent/analyzers/index.js';
import type { Direction, Protocol, StreamAnalyzer } from '../../standby-agent/analyzers/types.js';

type Step = [Direction, Buffer | string] | ['ack', number];

function run(
  protocol: Protocol,
  steps: Step[],
  bytewise = false,
  limits = { maxExchanges: 32, maxBytes: 1 << 20 },
) {
  const a = createAnalyzer(protocol, limits);
  const off = { toServer: 0, toClient: 0 };
  for (const s of steps) {
    if (s[0] === 'ack') {
      a.onClientAck(s[1] as number);
      continue;
    }
    const dir = s[0] as Direction;
    const data = typeof s[1] === 'string' ? Buffer.from(s[1]) : (s[1] as Buffer);
    if (bytewise) for (let i = 0; i < data.length; i++) a.onData(dir, off[dir] + i, data.subarray(i, i + 1));
    else a.onData(dir, off[dir], data);
    off[dir] += data.length;
  }
  return a;
}

function snapshot(a: StreamAnalyzer) {
  const v = a.view();
  return {
    analysable: v.analysable,
    reason: v.reason,
    replayFrom: v.replayFrom,
    replyBoundary: v.replyBoundary,
    pending: v.pendingRequestBytes()?.toString('hex'),
    exchanges: v.exchanges.map((e) => ({
      req: e.request.summary,
      range: [e.request.start, e.request.end, e.request.complete],
      reply: e.reply && [e.reply.summary, e.reply.start, e.reply.end, e.reply.complete],
      acked: e.replyAcked,
    })),
  };
}

function bothWays(t: Test, protocol: Protocol, steps: Step[]) {
  const whole = snapshot(run(protocol, steps));
  t.same(snapshot(run(protocol, steps, true)), whole, 'byte-at-a-time feeding gives the same view');
  return whole;
}

t.test('HTTP keep-alive, chunked with trailers, HEAD, 204, pipelining', async (t) => {
  const r1 = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
  const r2 = 'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc';
  const r3 = 'HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n';
  const r4 = 'GET /d HTTP/1.1\r\nHost: x\r\n\r\n';
  const p1 =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=1\r\nabc\r\n0\r\nT: v\r\n\r\n';
  const p2 = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok';
  const p3 = 'HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n';
  const v = bothWays(t, 'http', [
    ['toServer', r1 + r2 + r3], // pipelined
    ['toClient', p1 + p2 + p3],
    ['toServer', r4],
  ]);
  t.equal(v.analysable, true);
  t.same(
    v.exchanges.map((e) => e.req),
    ['GET /a', 'POST /b', 'HEAD /c', 'GET /d'],
  );
  t.equal(v.exchanges[0].reply?.[3], true, 'chunked reply complete');
  t.equal(v.exchanges[1].reply?.[0], '201 (45 bytes)', 'interim 100 skipped, final reply paired');
  t.equal(v.exchanges[2].reply?.[3], true, 'HEAD reply has no body');
  t.equal(v.replyBoundary, true);
  const start4 = (r1 + r2 + r3).length;
  t.equal(v.replayFrom, start4, 'replay from the unanswered GET /d');
  t.equal(Buffer.from(v.pending ?? '', 'hex').toString(), r4);
});

t.test('HTTP reply half sent, close-delimited reply, garbage', async (t) => {
  let v = bothWays(t, 'http', [
    ['toServer', 'GET / HTTP/1.1\r\n\r\n'],
    ['toClient', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345'],
  ]);
  t.equal(v.replyBoundary, false);
  v = bothWays(t, 'http', [
    ['toServer', 'GET / HTTP/1.0\r\n\r\n'],
    ['toClient', 'HTTP/1.0 200 OK\r\n\r\nbody until close'],
  ]);
  t.equal(v.replyBoundary, false, 'a close-delimited reply is never complete while open');
  v = snapshot(run('http', [['toServer', '\x16\x03\x01 TLS hello\r\n\r\n']]));
  t.equal(v.analysable, false);
  t.match(v.reason, /not an HTTP\/1.x request line/);
});

function rpcCall(xid: number, proc: number, fh?: Buffer, argBytes = 0): Buffer {
  const cred = Buffer.alloc(8); // AUTH_NONE flavor 0, length 0
  const parts: Buffer[] = [Buffer.alloc(24)];
  parts[0].writeUInt32BE(xid, 0);
  parts[0].writeUInt32BE(0, 4);
  parts[0].writeUInt32BE(2, 8);
  parts[0].writeUInt32BE(100003, 12);
  parts[0].writeUInt32BE(3, 16);
  parts[0].writeUInt32BE(proc, 20);
  parts.push(cred, cred);
  if (fh) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(fh.length);
    parts.push(len, fh, Buffer.alloc((4 - (fh.length % 4)) % 4));
  }
  parts.push(Buffer.alloc(argBytes));
  return Buffer.concat(parts);
}
function rpcReply(xid: number, body = 8): Buffer {
  const b = Buffer.alloc(24 + body);
  b.writeUInt32BE(xid, 0);
  b.writeUInt32BE(1, 4);
  return b;
}
function record(msg: Buffer, fragments = 1): Buffer {
  const out: Buffer[] = [];
  const size = Math.ceil(msg.length / fragments);
  for (let i = 0; i < fragments; i++) {
    const part = msg.subarray(i * size, Math.min(msg.length, (i + 1) * size));
    const h = Buffer.alloc(4);
    h.writeUInt32BE(((i === fragments - 1 ? 0x80000000 : 0) | part.length) >>> 0);
    out.push(h, part);
  }
  return Buffer.concat(out);
}

t.test('ONC RPC: multi-fragment calls, replies out of order, NFSv3 file handles', async (t) => {
  const fh = Buffer.from('0102030405060708090a0b0c', 'hex');
  const c1 = record(rpcCall(11, 1, fh), 3); // GETATTR, three fragments
  const c2 = record(rpcCall(12, 6, fh, 12)); // READ
  const c3 = record(rpcCall(13, 0)); // NULL
  const v = bothWays(t, 'oncrpc', [
    ['toServer', Buffer.concat([c1, c2, c3])],
    ['toClient', Buffer.concat([record(rpcReply(12, 100)), record(rpcReply(11))])],
  ]);
  t.equal(v.analysable, true);
  t.same(
    v.exchanges.map((e) => e.req),
    ['NFS3 GETATTR', 'NFS3 READ', 'NFS3 NULL'],
  );
  t.equal(v.exchanges[0].reply?.[3], true, 'GETATTR answered after READ (paired by xid)');
  t.equal(v.replayFrom, c1.length + c2.length, 'NULL is the unanswered call');
  const a = run('oncrpc', [['toServer', c2]]);
  t.equal(a.view().exchanges[0].request.details?.fh, fh.toString('hex'));
  const mid = createAnalyzer('oncrpc');
  mid.onData('toServer', 100, c3);
  t.equal(mid.view().analysable, false, 'mid-stream RPC is not analysable');
});

t.test('ONC RPC: where replay starts follows replies that complete out of order, view by view', async (t) => {
  const calls = [record(rpcCall(21, 1)), record(rpcCall(22, 6)), record(rpcCall(23, 0))];
  const a = createAnalyzer('oncrpc');
  const off = { toServer: 0, toClient: 0 };
  const send = (dir: Direction, b: Buffer) => {
    a.onData(dir, off[dir], b);
    off[dir] += b.length;
  };
  for (const c of calls) send('toServer', c);
  t.equal(a.view().replayFrom, 0, 'nothing answered');
  send('toClient', record(rpcReply(22)));
  t.equal(a.view().replayFrom, 0, 'the second answered first: the first is still to replay');
  send('toClient', record(rpcReply(21)));
  t.equal(a.view().replayFrom, calls[0].length + calls[1].length, 'now from the third');
  send('toClient', record(rpcReply(23)));
  t.equal(a.view().replayFrom, off.toServer, 'all answered: nothing to replay');
  send('toServer', calls[0]);
  t.equal(a.view().replayFrom, off.toServer - calls[0].length, 'a new call');
});

function smb2(
  command: number,
  messageId: number,
  opts: { response?: boolean; status?: number; async?: boolean; body?: number } = {},
): Buffer {
  const h = Buffer.alloc(64 + (opts.body ?? 8));
  h.writeUInt32BE(0xfe534d42, 0);
  h.writeUInt16LE(64, 4);
  h.writeUInt32LE(opts.status ?? 0, 8);
  h.writeUInt16LE(command, 12);
  h.writeUInt32LE((opts.response ? 1 : 0) | (opts.async ? 2 : 0), 16);
  h.writeBigUInt64LE(BigInt(messageId), 24);
  const nb = Buffer.alloc(4);
  nb.writeUInt32BE(h.length);
  return Buffer.concat([nb, h]);
}

t.test('SMB2: MessageId pairing, async interim reply, encrypted SMB3', async (t) => {
  const v = bothWays(t, 'smb2', [
    ['toServer', Buffer.concat([smb2(0, 0), smb2(8, 5)])], // NEGOTIATE, READ
    ['toClient', smb2(0, 0, { response: true })],
    ['toClient', smb2(8, 5, { response: true, async: true, status: 0x103 })], // interim
  ]);
  t.same(
    v.exchanges.map((e) => e.req),
    ['SMB2 NEGOTIATE', 'SMB2 READ'],
  );
  t.equal(v.exchanges[1].reply, undefined, 'interim reply does not answer the READ');
  t.equal(v.replayFrom, smb2(0, 0).length, 'the READ is still unanswered');
  t.equal(v.replyBoundary, true);
  const done = snapshot(
    run('smb2', [
      ['toServer', smb2(8, 5)],
      [
        'toClient',
        Buffer.concat([
          smb2(8, 5, { response: true, async: true, status: 0x103 }),
          smb2(8, 5, { response: true, body: 100 }),
        ]),
      ],
    ]),
  );
  t.equal(done.exchanges[0].reply?.[3], true, 'the final reply completes it');
  const enc = Buffer.alloc(60);
  enc.writeUInt32BE(0xfd534d42, 0);
  const nb = Buffer.alloc(4);
  nb.writeUInt32BE(enc.length);
  const e = snapshot(run('smb2', [['toServer', Buffer.concat([nb, enc])]]));
  t.equal(e.analysable, false);
  t.match(e.reason, /encrypted/);
});

t.test('FIFO bounds: answered exchanges go first; a lost unanswered request is reported', async (t) => {
  const req = (i: number) => `GET /${i} HTTP/1.1\r\n\r\n`;
  const rep = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  const steps: Step[] = [];
  let acked = 0;
  for (let i = 0; i < 10; i++) {
    steps.push(['toServer', req(i)], ['toClient', rep]);
    acked += rep.length;
    steps.push(['ack', acked]);
  }
  steps.push(['toServer', req(99)]);
  const a = run('http', steps, false, { maxExchanges: 4, maxBytes: 1 << 20 });
  const v = a.view();
  t.equal(v.exchanges.length, 4);
  t.equal(v.droppedExchanges, 7);
  t.equal(v.pendingRequestBytes()?.toString(), req(99));
  const big = run(
    'http',
    [['toServer', `POST /x HTTP/1.1\r\nContent-Length: 5000\r\n\r\n${'x'.repeat(5000)}`]],
    false,
    {
      maxExchanges: 4,
      maxBytes: 1000,
    },
  );
  t.equal(
    big.view().pendingRequestBytes(),
    undefined,
    'request larger than the byte bound cannot be replayed',
  );
});

t.test('answered history has its own bound; requests in flight are all kept', async (t) => {
  const req = (i: number) => `GET /${i} HTTP/1.1\r\n\r\n`;
  const rep = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  const limits = { maxExchanges: 32, maxAnswered: 2, maxBytes: 1 << 20 };
  // six pipelined requests, none answered yet: every one is kept (a restore replays them all)
  const inFlight: Step[] = [0, 1, 2, 3, 4, 5].map((i) => ['toServer', req(i)]);
  const waiting = run('http', inFlight, false, limits).view();
  t.equal(waiting.exchanges.length, 6);
  t.equal(waiting.pendingRequestBytes()?.toString(), inFlight.map((s) => s[1]).join(''));
  // five replies, four acknowledged: the acknowledged ones beyond two go, the rest stay
  const steps: Step[] = [...inFlight];
  for (let i = 0; i < 5; i++) steps.push(['toClient', rep]);
  steps.push(['ack', 4 * rep.length]);
  const v = run('http', steps, false, limits).view();
  t.same(
    v.exchanges.map((e) => [e.request.summary, e.replyAcked]),
    [
      ['GET /2', true],
      ['GET /3', true],
      ['GET /4', false],
      ['GET /5', false],
    ],
  );
  t.equal(v.droppedExchanges, 2);
  t.equal(v.pendingRequestBytes()?.toString(), req(5), 'replay still starts at the unanswered one');
});
