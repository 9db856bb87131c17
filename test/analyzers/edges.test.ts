// Port selection, generic mode, mid-stream pickup and compressed SMB3.
import t from 'tap';
import { createAnalyzer, protocolForPort } from '../../standby-agent/analyzers/index.js';

t.test('protocol by port, with overrides', async (t) => {
  t.equal(protocolForPort(80), 'http');
  t.equal(protocolForPort(8080), 'http');
  t.equal(protocolForPort(2049), 'oncrpc');
  t.equal(protocolForPort(111), 'oncrpc');
  t.equal(protocolForPort(445), 'smb2');
  t.equal(protocolForPort(5432), 'generic');
  t.equal(protocolForPort(5432, { 5432: 'http' }), 'http');
  t.equal(protocolForPort(80, { 80: 'generic' }), 'generic');
});

t.test('generic: analysable until payload flows', async (t) => {
  const a = createAnalyzer('generic');
  t.ok(a.view().analysable);
  a.onData('toClient', 0, Buffer.from('220 hello\r\n'));
  t.notOk(a.view().analysable);
  t.equal(a.view().reason, 'protocol not analysable (generic mode)');
});

t.test('mid-stream pickup is declared, not guessed', async (t) => {
  for (const p of ['http', 'oncrpc', 'smb2'] as const) {
    const a = createAnalyzer(p);
    a.onData('toServer', 1000, Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
    t.notOk(a.view().analysable, `${p} not analysable`);
    t.match(a.view().reason, /mid-stream/, `${p} says why`);
  }
});

t.test('compressed SMB3 (0xFC SMB) is not analysable', async (t) => {
  const body = Buffer.alloc(32);
  body.write('\xfcSMB', 0, 'latin1');
  const rec = Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
  const a = createAnalyzer('smb2');
  a.onData('toServer', 0, rec);
  t.notOk(a.view().analysable);
  t.match(a.view().reason, /compressed/);
});

t.test('HTTP: a head split across segments survives the capture reusing its buffer', async (t) => {
  const a = createAnalyzer('http');
  const req = Buffer.from('\r\nPOST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
  const shared = Buffer.alloc(64);
  // 7 pieces, each written into the same buffer that is scribbled over after the call
  let off = 0;
  for (const cut of [1, 9, 20, 33, 50, 53, req.length]) {
    const n = req.copy(shared, 0, off, cut);
    a.onData('toServer', off, shared.subarray(0, n));
    shared.fill(0x5a);
    off = cut;
  }
  const rep = Buffer.from('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
  a.onData('toClient', 0, rep);
  a.onClientAck(rep.length);
  const v = a.view();
  t.ok(v.analysable, v.reason ?? '');
  t.equal(v.exchanges.length, 1);
  t.equal(v.exchanges[0].request.summary, 'POST /upload', 'the empty line before the request is skipped');
  t.equal(v.exchanges[0].request.start, 2);
  t.equal(v.exchanges[0].request.end, req.length);
  t.equal(v.exchanges[0].reply?.summary, `201 (${rep.length} bytes)`);
  t.ok(v.exchanges[0].replyAcked);
});

t.test('HTTP: header names match case-insensitively; bad lines are reasons', async (t) => {
  const a = createAnalyzer('http');
  a.onData(
    'toServer',
    0,
    Buffer.from('GET / HTTP/1.1\r\nCONTENT-LENGTH:  3 \r\n\r\nabcGET /b HTTP/1.0\r\n\r\n'),
  );
  t.same(
    a.view().exchanges.map((e) => [e.request.summary, e.request.start, e.request.end]),
    [
      ['GET /', 0, 42],
      ['GET /b', 42, 61],
    ],
  );
  a.onData(
    'toClient',
    0,
    Buffer.from('HTTP/1.1 200\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
  );
  t.equal(a.view().exchanges[0].reply?.complete, true, 'status line without a reason phrase; chunked body');
  for (const [dir, bad, re] of [
    ['toServer', 'get / HTTP/1.1\r\n\r\n', /not an HTTP\/1.x request line/],
    ['toServer', 'GET / HTTP/2.0\r\n\r\n', /not an HTTP\/1.x request line/],
    ['toServer', 'GET /a b HTTP/1.1\r\n\r\n', /not an HTTP\/1.x request line/],
    ['toServer', 'GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n', /bad Content-Length "1x"/],
    ['toClient', 'HTTP/1.1 2x0 OK\r\n\r\n', /not an HTTP\/1.x status line/],
  ] as const) {
    const b = createAnalyzer('http');
    if (dir === 'toClient') b.onData('toServer', 0, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    b.onData(dir, 0, Buffer.from(bad));
    t.notOk(b.view().analysable, bad.trim());
    t.match(b.view().reason, re);
  }
});
