// The joiner on real local sockets: the bytes a restored socket holds (its receive queue)
// reach the local service first and exactly once, then bytes flow both ways until a close.
import net from 'node:net';
import t from 'tap';
import { ServiceJoiner, parseHostPort } from '../../standby-agent/failover/resume.js';
import { listen, pair } from './fixtures/loopback.js';

t.test('parseHostPort', async (t) => {
  t.same(parseHostPort('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  t.same(parseHostPort('[::1]:8080'), { host: '::1', port: 8080 });
  t.throws(() => parseHostPort('nope'), /HOST:PORT/);
});

t.test('queued request first and once, then both ways, then close', async (t) => {
  const seen: string[] = [];
  const local = net.createServer((s) => {
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      seen.push(d);
      s.write(`reply:${d}`);
    });
  });
  const port = await listen(local);
  t.teardown(() => local.close());
  const [client, restored] = await pair();
  // what the client sent before the takeover sits unread in the restored socket
  client.write('REQ1');
  await new Promise((r) => setTimeout(r, 50));
  const joiner = new ServiceJoiner({ host: '127.0.0.1', port });
  joiner.join(restored, 'test');
  client.setEncoding('utf8');
  let got = '';
  client.on('data', (d: string) => {
    got += d;
  });
  await new Promise((r) => setTimeout(r, 100));
  t.same(seen, ['REQ1'], 'the queued request reached the local service once');
  client.write('REQ2');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(got, 'reply:REQ1reply:REQ2', 'both replies came back in order');
  const { live, joined, failed, repliesCompleted, firstJoinAt, lastConnectAt } = joiner.stats;
  t.same({ live, joined, failed, repliesCompleted }, { live: 1, joined: 1, failed: 0, repliesCompleted: 0 });
  t.ok(
    firstJoinAt !== undefined && lastConnectAt !== undefined && lastConnectAt >= firstJoinAt,
    'when joining began and when the local connection was made',
  );
  const closed = new Promise((r) => client.once('close', r));
  client.end();
  await closed;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(joiner.stats.live, 0, 'closed on both sides');
});

t.test('local service down: the client connection is reset, not left hanging', async (t) => {
  const dead = net.createServer();
  const port = await listen(dead);
  await new Promise<void>((r) => dead.close(() => r()));
  const [client, restored] = await pair();
  const joiner = new ServiceJoiner({ host: '127.0.0.1', port });
  const err = new Promise<NodeJS.ErrnoException>((r) => client.once('error', r));
  joiner.join(restored, 'test');
  t.equal((await err).code, 'ECONNRESET');
  t.equal(joiner.stats.failed, 1);
});
