// The service died mid-reply: the analyzer keeps that reply's bytes so far, the verdict hands
// them to the restore, and the joiner sends the client only the rest of the standby's reply,
// once it has checked that the standby's reply begins with the same bytes (Date aside).
import net from 'node:net';
import t from 'tap';
import { createAnalyzer } from '../../standby-agent/analyzers/index.js';
import { ReplyPrefixCheck, replyPrefixMismatch } from '../../standby-agent/failover/reply-prefix.js';
import { ServiceJoiner } from '../../standby-agent/failover/resume.js';
import { listen, pair } from './fixtures/loopback.js';

const BODY = 'x'.repeat(3000);
const reply = (date: string, length = BODY.length) =>
  Buffer.from(
    `HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: ${date}\r\nContent-Length: ${length}\r\nETag: "abc"\r\n\r\n${BODY}`,
  );
const OLD = reply('Mon, 23 Nov 2026 10:00:00 GMT');
const NEW = reply('Mon, 23 Nov 2026 10:00:01 GMT');

t.test('prefix check: equal, Date differs, anything else differs', async (t) => {
  t.equal(replyPrefixMismatch(OLD.subarray(0, 1448), OLD), undefined, 'same bytes');
  t.equal(replyPrefixMismatch(OLD.subarray(0, 1448), NEW), undefined, 'only the Date value differs');
  t.match(
    replyPrefixMismatch(OLD.subarray(0, 1448), reply('Mon, 23 Nov 2026 10:00:00 GMT', 2999)),
    /differs at byte \d+ \(in "Content-Length: 2"\)/,
  );
  const body = Buffer.from(OLD);
  body[OLD.length - 5] = 0x79;
  t.match(replyPrefixMismatch(OLD, body), /differs at byte/, 'a body byte differs');
  t.match(replyPrefixMismatch(OLD, OLD.subarray(0, 100)), /shorter/);
  const check = new ReplyPrefixCheck(OLD.subarray(0, 1448));
  t.equal(check.push(NEW.subarray(0, 1000)), undefined, 'needs more bytes');
  const r = check.push(NEW.subarray(1000));
  t.ok(r && 'done' in r && r.rest.equals(NEW.subarray(1448)), 'the rest after the prefix');
});

t.test('bytes known further on (after a lost segment) are checked too', async (t) => {
  const later = [{ at: 1448, bytes: OLD.subarray(1448, 2896) }];
  const ok = new ReplyPrefixCheck(Buffer.alloc(0), later);
  t.equal(ok.push(NEW.subarray(0, 2000)), undefined, 'waits for the known region');
  const r = ok.push(NEW.subarray(2000));
  t.ok(r && 'done' in r && r.rest.equals(NEW), 'the whole new reply goes to the client');
  const other = Buffer.from(NEW);
  other[2000] = 0x79;
  const bad = new ReplyPrefixCheck(Buffer.alloc(0), later).push(other);
  t.ok(bad && 'mismatch' in bad && /byte 2000/.test(bad.mismatch), 'a differing later byte is caught');
});

t.test('HTTP analyzer keeps an unfinished reply, and only that', async (t) => {
  const a = createAnalyzer('http');
  const req = Buffer.from('GET /f HTTP/1.1\r\nHost: a\r\n\r\n');
  a.onData('toServer', 0, req);
  const shared = Buffer.alloc(2000);
  OLD.copy(shared, 0, 0, 1448);
  a.onData('toClient', 0, shared.subarray(0, 1448));
  shared.fill(0); // the capture reuses its buffer
  let v = a.view();
  t.notOk(v.replyBoundary);
  t.equal(v.partialReply?.start, 0);
  t.ok(v.partialReply?.bytes?.equals(OLD.subarray(0, 1448)), 'the bytes so far, copied');
  t.equal(v.pendingRequestBytes()?.toString(), req.toString(), 'its request is kept for the replay');
  a.onData('toClient', 1448, OLD.subarray(1448));
  v = a.view();
  t.ok(v.replyBoundary);
  t.equal(v.partialReply, undefined, 'nothing kept once the reply is complete');
  // a second reply cut in its head
  a.onData('toServer', req.length, req);
  a.onData('toClient', OLD.length, OLD.subarray(0, 20));
  a.onData('toClient', OLD.length + 20, OLD.subarray(20, 40));
  v = a.view();
  t.equal(v.partialReply?.start, OLD.length);
  t.ok(v.partialReply?.bytes?.equals(OLD.subarray(0, 40)), 'head bytes across segments');
});

for (const [name, local, expectComplete] of [
  ['the standby reply completes it (Date differs)', NEW, true],
  ['a different standby reply resets the client', reply('Mon, 23 Nov 2026 10:00:00 GMT', 2999), false],
] as const) {
  t.test(`joiner: ${name}`, async (t) => {
    const service = net.createServer((s) => s.once('data', () => s.write(local)));
    const port = await listen(service);
    t.teardown(() => service.close());
    const [client, restored] = await pair();
    client.write('GET /f HTTP/1.1\r\nHost: a\r\n\r\n'); // the replayed request, in the receive queue
    const prefix = OLD.subarray(0, 1448); // what the client already had from the dead service
    const joiner = new ServiceJoiner({ host: '127.0.0.1', port });
    joiner.join(restored, 'test', prefix);
    const chunks: Buffer[] = [];
    client.on('data', (d: Buffer) => chunks.push(d));
    const outcome = await new Promise<string>((res) => {
      client.once('error', (e) => res((e as NodeJS.ErrnoException).code ?? e.message));
      client.once('close', () => res('closed'));
      setTimeout(() => res('open'), 500);
    });
    const got = Buffer.concat([prefix, ...chunks]);
    if (expectComplete) {
      t.equal(outcome, 'open', 'the connection stays up');
      t.ok(got.equals(Buffer.concat([OLD.subarray(0, 1448), NEW.subarray(1448)])), 'one whole reply');
      t.equal(joiner.stats.repliesCompleted, 1);
    } else {
      t.equal(outcome, 'ECONNRESET', 'the client is reset');
      t.equal(chunks.length, 0, 'nothing of the other reply reached it');
      t.match(joiner.errors[0], /differs at byte/);
    }
    client.destroy();
  });
}
