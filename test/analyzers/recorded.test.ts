// The analyzers on captures recorded from real programs (test/fixtures/recorded/record.sh):
// curl, a pipelining client and wrk against nginx, smbclient against samba, libnfs against ganesha.
import t, { type Test } from 'tap';
import { DEFAULT_FIFO_LIMITS, type Exchange } from '../../standby-agent/analyzers/types.js';
import { analyzePcap, type RecordedConnection } from './helpers/pcap-streams.js';

const fixture = (name: string) => new URL(`../fixtures/recorded/${name}`, import.meta.url).pathname;
const pairs = (c: RecordedConnection) =>
  c.analyzer.view().exchanges.map((e: Exchange) => `${e.request.summary} -> ${e.reply?.summary ?? '-'}`);

/** every exchange answered, fully acknowledged, nothing to replay, no reply cut in half */
function assertAllAnswered(t: Test, c: RecordedConnection) {
  const v = c.analyzer.view();
  t.ok(v.analysable, `${c.client} analysable`);
  t.ok(v.replyBoundary, 'reply boundary at the end');
  t.ok(
    v.exchanges.every((e) => e.reply?.complete && e.replyAcked && !e.reply.interim),
    'every reply complete and acknowledged',
  );
  t.equal(v.pendingRequestBytes()?.length, 0, 'no pending request bytes');
}

t.test('curl against nginx: keep-alive, then HEAD', (t) => {
  const conns = analyzePcap(fixture('http-curl.pcap'), 80);
  t.equal(conns.length, 2);
  t.same(
    pairs(conns[0]),
    ['GET /file -> 200 (1910 bytes)', 'GET /small -> 200 (241 bytes)'],
    'two requests, one connection',
  );
  t.same(pairs(conns[1]), ['HEAD /file -> 200 (240 bytes)'], 'HEAD reply has no body');
  for (const c of conns) assertAllAnswered(t, c);
  t.equal(conns[0].analyzer.view().replayFrom, 157, 'replayFrom = end of the client stream');
  t.end();
});

t.test('pipelined requests pair in order; Connection: close reply ends the stream', (t) => {
  const [c, ...rest] = analyzePcap(fixture('http-pipeline.pcap'), 80);
  t.equal(rest.length, 0);
  t.same(pairs(c), [
    'GET /file -> 200 (1910 bytes)',
    'GET /small -> 200 (241 bytes)',
    'GET /missing -> 404 (303 bytes)',
  ]);
  const ex = c.analyzer.view().exchanges;
  t.equal(ex[0].request.start, 0);
  t.equal(ex[1].request.start, ex[0].request.end, 'second request in the same write');
  t.equal(ex[1].reply?.start, ex[0].reply?.end, 'replies back to back');
  assertAllAnswered(t, c);
  t.end();
});

t.test('wrk against nginx: FIFO bound bites on long keep-alive connections', (t) => {
  const conns = analyzePcap(fixture('http-wrk.pcap'), 80, Infinity, DEFAULT_FIFO_LIMITS);
  t.ok(conns.length >= 2);
  const busy = conns.filter((c) => c.analyzer.view().exchanges.length > 0);
  t.ok(busy.length >= 1);
  for (const c of busy) {
    const v = c.analyzer.view();
    const answered = v.exchanges.filter((e) => e.replyAcked).length;
    t.equal(answered, 4, 'the default keeps the last 4 answered and acknowledged exchanges');
    t.ok(v.exchanges.length <= 32, 'and at most 32 in all');
    t.ok(v.droppedExchanges > 0, 'older exchanges dropped and counted');
    t.ok(v.exchanges.every((e) => e.request.summary === 'GET /small'));
    // the capture stops mid-run: the last request may be unanswered, replayFrom then points at it
    const last = v.exchanges[v.exchanges.length - 1];
    if (last.reply?.complete) t.equal(v.replayFrom, last.request.end);
    else {
      t.equal(v.replayFrom, last.request.start, 'replay starts at the unanswered request');
      t.equal(v.pendingRequestBytes()?.toString('latin1').slice(0, 10), 'GET /small');
    }
  }
  t.end();
});

t.test('smbclient against samba: ls + get over SMB2', (t) => {
  const [c, ...rest] = analyzePcap(fixture('smb2-smbclient.pcap'), 445);
  t.equal(rest.length, 0);
  const v = c.analyzer.view();
  const cmds = v.exchanges.map((e) => e.request.summary);
  for (const cmd of [
    'NEGOTIATE',
    'SESSION_SETUP',
    'TREE_CONNECT',
    'CREATE',
    'QUERY_DIRECTORY',
    'READ',
    'CLOSE',
  ]) {
    t.ok(cmds.includes(`SMB2 ${cmd}`), `saw SMB2 ${cmd}`);
  }
  t.equal(cmds[0], 'SMB2 NEGOTIATE');
  for (const e of v.exchanges)
    t.equal(e.reply?.key, e.request.key, `${e.request.summary} paired by MessageId`);
  t.match(pairs(c)[1], /SESSION_SETUP status 0xc0000016/, 'NTLM challenge: MORE_PROCESSING_REQUIRED');
  assertAllAnswered(t, c);
  t.end();
});

t.test('libnfs against ganesha: NFSv3 procedures and file handles', (t) => {
  const conns = analyzePcap(fixture('nfs3-libnfs.pcap'), 2049);
  t.equal(conns.length, 2, 'nfs-cat and nfs-ls: one connection each');
  const [cat, ls] = conns.map((c) => c.analyzer.view().exchanges.map((e) => e.request.summary));
  t.same(cat, [
    'NFS3 NULL',
    'NFS3 FSINFO',
    'NFS3 GETATTR',
    'NFS3 LOOKUP',
    'NFS3 ACCESS',
    'NFS3 GETATTR',
    'NFS3 READ',
  ]);
  t.same(ls, ['NFS3 NULL', 'NFS3 FSINFO', 'NFS3 GETATTR', 'NFS3 GETATTR', 'NFS3 READDIRPLUS']);
  for (const c of conns) {
    const ex = c.analyzer.view().exchanges;
    t.notOk(ex[0].request.details?.fh, 'NULL carries no file handle');
    for (const e of ex.slice(1))
      t.match(String(e.request.details?.fh), /^[0-9a-f]{16,128}$/, `${e.request.summary} fh`);
    for (const e of ex) t.equal(e.reply?.key, e.request.key, 'paired by xid');
    assertAllAnswered(t, c);
  }
  // the READ and the LOOKUP's result are about the same file: the READ's fh differs from the export root's
  const catEx = conns[0].analyzer.view().exchanges;
  t.not(catEx[6].request.details?.fh, catEx[1].request.details?.fh);
  t.end();
});

t.test('same result when every recorded stream is fed one byte at a time', (t) => {
  const files = [
    ['http-curl.pcap', 80],
    ['http-pipeline.pcap', 80],
    ['http-wrk.pcap', 80],
    ['smb2-smbclient.pcap', 445],
    ['nfs3-libnfs.pcap', 2049],
  ] as const;
  const snapshot = (cs: RecordedConnection[]) =>
    cs.map((c) => {
      const v = c.analyzer.view();
      return {
        exchanges: v.exchanges,
        dropped: v.droppedExchanges,
        replayFrom: v.replayFrom,
        replyBoundary: v.replyBoundary,
        analysable: v.analysable,
        pending: v.pendingRequestBytes()?.toString('hex'),
      };
    });
  for (const [f, port] of files) {
    t.same(snapshot(analyzePcap(fixture(f), port, 1)), snapshot(analyzePcap(fixture(f), port)), f);
  }
  t.end();
});
