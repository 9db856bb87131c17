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
