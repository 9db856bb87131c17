// The TCP_REPAIR addon against the real kernel: a service's socket vanishes silently (repair
// mode + exit: no FIN, no RST), a different process re-creates it from the dumped values, and
// the client's connection carries on — same socket, same local port, data both ways, the
// unanswered request delivered from the restored receive queue.
import t from 'tap';
import { createNsPair, startPeer } from './netns-peers.js';

interface Wait {
  received: string;
  errors: string[];
  closed: boolean;
}

const PORT = 7000;

t.test('a silently vanished connection is restored and keeps working', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  const service = startPeer(ns.service);
  const client = startPeer(ns.client);
  t.teardown(() => {
    service.kill();
    client.kill();
  });
  await service.call({ op: 'listen', ip: ns.serviceIp, port: PORT });
  const c = await client.call<{ id: number; localPort: number }>({
    op: 'connect',
    ip: ns.serviceIp,
    port: PORT,
  });
  // a second connection, vanished but not restored: the control that shows what happens otherwise
  const ctl = await client.call<{ id: number }>({ op: 'connect', ip: ns.serviceIp, port: PORT });
  const { ids } = await service.call<{ ids: number[] }>({ op: 'accepted', count: 2 });
  t.equal(ids.length, 2, 'service accepted both connections');

  await client.call({ op: 'send', id: c.id, data: 'one\n' });
  let w = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:one\n' });
  t.equal(w.received, 'echo:one\n', 'echo before the failure');

  // the service stops reading; the next request stays unanswered in its receive queue
  for (const id of ids) await service.call({ op: 'hold', id });
  await client.call({ op: 'send', id: c.id, data: 'two\n' });
  await new Promise((r) => setTimeout(r, 100));
  const states = [];
  for (const id of ids) states.push(await service.call<Record<string, unknown>>({ op: 'dump', id }));
  const state = states.find((s) => (s.remote as { port: number }).port === c.localPort);
  t.ok(state, 'dumped the connection');
  if (!state) return;
  t.equal(
    Buffer.from(state.recvQueue as string, 'base64').toString(),
    'two\n',
    'unanswered request in the receive queue',
  );
  t.equal(state.sendQueue, '', 'nothing in flight');
  t.equal(state.timestamps, true, 'timestamps negotiated');
  await service.call({ op: 'exit' });
  await service.exited;

  // a fresh process in the service namespace re-creates the connection
  const restorer = startPeer(ns.service);
  t.teardown(() => restorer.kill());
  const r = await restorer.call<{ id: number; localPort: number; remotePort: number }>({
    op: 'restore',
    state,
    elapsedMs: 150,
  });
  t.equal(r.localPort, PORT, 'restored socket on the service port');
  t.equal(r.remotePort, c.localPort, 'restored socket connected to the client port');

  // the request that was in the receive queue is answered by the new process
  w = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:two\n' });
  t.same(w.errors, [], 'no error on the client');
  t.equal(w.received, 'echo:one\necho:two\n', 'queued request answered exactly once');
  await client.call({ op: 'send', id: c.id, data: 'three\n' });
  w = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:three\n' });
  t.equal(w.received, 'echo:one\necho:two\necho:three\n', 'data both ways after the restore');
  const info = await client.call<{ localPort: number; closed: boolean; errors: string[] }>({
    op: 'info',
    id: c.id,
  });
  t.equal(info.localPort, c.localPort, 'client local port unchanged');
  t.equal(info.closed, false, 'client connection never closed');

  // control: the connection that was not restored is reset by the service host's stack
  await client.call({ op: 'send', id: ctl.id, data: 'lost\n' });
  const wc = await client.call<Wait>({ op: 'wait', id: ctl.id, text: 'echo:lost', timeoutMs: 3000 });
  t.same(wc.errors, ['ECONNRESET'], 'unrestored connection is reset');

  // the restored socket sends full-sized segments, not the 536-byte default of a socket that
  // never saw a SYN (the MSS must be in place before connect, which sizes the segments)
  const after = await restorer.call<{ mss: number; sendMss: number }>({ op: 'dump', id: r.id });
  t.equal(after.mss, state.mss, `MSS clamp ${after.mss} = the original's`);
  t.equal(after.sendMss, state.sendMss, `full segments of ${after.sendMss} bytes, as the original sent`);
  t.ok((state.sendMss as number) > 1000, 'the original sent full-sized segments');
});

t.test('IPv6: a vanished connection is restored and keeps working', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  const service = startPeer(ns.service);
  const client = startPeer(ns.client);
  t.teardown(() => {
    service.kill();
    client.kill();
  });
  await service.call({ op: 'listen', ip: ns.serviceIp6, port: PORT });
  const c = await client.call<{ id: number; localPort: number }>({
    op: 'connect',
    ip: ns.serviceIp6,
    port: PORT,
  });
  const { ids } = await service.call<{ ids: number[] }>({ op: 'accepted', count: 1 });
  await client.call({ op: 'send', id: c.id, data: 'one\n' });
  await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:one\n' });
  await service.call({ op: 'hold', id: ids[0] });
  await client.call({ op: 'send', id: c.id, data: 'two\n' });
  await new Promise((r) => setTimeout(r, 100));
  const state = await service.call<Record<string, unknown>>({ op: 'dump', id: ids[0] });
  t.equal((state.local as { ip: string }).ip, ns.serviceIp6, 'an IPv6 connection');
  await service.call({ op: 'exit' });
  await service.exited;
  const restorer = startPeer(ns.service);
  t.teardown(() => restorer.kill());
  await restorer.call({ op: 'restore', state, elapsedMs: 100 });
  const w = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:two\n' });
  t.same(w.errors, [], 'no error');
  t.equal(w.received, 'echo:one\necho:two\n', 'queued request answered once');
  await client.call({ op: 'send', id: c.id, data: 'three\n' });
  const w2 = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:three\n' });
  t.equal(w2.received, 'echo:one\necho:two\necho:three\n', 'data both ways');
});

t.test('client bytes seen after the snapshot are topped up into a restored socket', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  const service = startPeer(ns.service);
  const client = startPeer(ns.client);
  t.teardown(() => {
    service.kill();
    client.kill();
  });
  await service.call({ op: 'listen', ip: ns.serviceIp, port: PORT });
  const c = await client.call<{ id: number; localPort: number }>({
    op: 'connect',
    ip: ns.serviceIp,
    port: PORT,
  });
  const { ids } = await service.call<{ ids: number[] }>({ op: 'accepted', count: 1 });
  await client.call({ op: 'send', id: c.id, data: 'one\n' });
  await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:one\n' });
  await service.call({ op: 'hold', id: ids[0] });
  // acknowledged by the old service's kernel: the client will never send these bytes again
  await client.call({ op: 'send', id: c.id, data: 'late\n' });
  await new Promise((r) => setTimeout(r, 100));
  const state = await service.call<Record<string, unknown>>({ op: 'dump', id: ids[0] });
  await service.call({ op: 'exit' });
  await service.exited;
  const restorer = startPeer(ns.service);
  t.teardown(() => restorer.kill());
  const r = await restorer.call<{ appended: number }>({
    op: 'restore',
    state,
    elapsedMs: 100,
    withholdRecv: true,
  });
  t.equal(r.appended, 5, 'the missing bytes were appended');
  const w = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:late\n' });
  t.same(w.errors, [], 'no error');
  t.equal(w.received, 'echo:one\necho:late\n', 'the late request is answered, once');
  await client.call({ op: 'send', id: c.id, data: 'more\n' });
  const w2 = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:more\n' });
  t.equal(w2.received, 'echo:one\necho:late\necho:more\n', 'and the connection carries on');
});

t.test('bytes in flight are sent again by the restored socket', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  const service = startPeer(ns.service);
  const client = startPeer(ns.client);
  t.teardown(() => {
    service.kill();
    client.kill();
  });
  await service.call({ op: 'listen', ip: ns.serviceIp, port: PORT });
  const c = await client.call<{ id: number; localPort: number }>({
    op: 'connect',
    ip: ns.serviceIp,
    port: PORT,
  });
  const { ids } = await service.call<{ ids: number[] }>({ op: 'accepted', count: 1 });
  await client.call({ op: 'send', id: c.id, data: 'a\n' });
  await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:a\n' });
  // the client's link goes down: the next reply is sent but never acknowledged
  const link = `${ns.prefix}a`;
  const { execFileSync } = await import('node:child_process');
  execFileSync('ip', ['-n', ns.client, 'link', 'set', link, 'down']);
  await service.call({ op: 'send', id: ids[0], data: 'in-flight\n' });
  await new Promise((r) => setTimeout(r, 50));
  await service.call({ op: 'hold', id: ids[0] });
  const state = await service.call<Record<string, unknown>>({ op: 'dump', id: ids[0] });
  t.equal(
    Buffer.from(state.sendQueue as string, 'base64').toString(),
    'in-flight\n',
    'unacknowledged bytes dumped',
  );
  await service.call({ op: 'exit' });
  await service.exited;
  const restorer = startPeer(ns.service);
  t.teardown(() => restorer.kill());
  await restorer.call({ op: 'restore', state, elapsedMs: 100 });
  execFileSync('ip', ['-n', ns.client, 'link', 'set', link, 'up']);
  const w = await client.call<Wait>({ op: 'wait', id: c.id, text: 'in-flight\n', timeoutMs: 8000 });
  t.same(w.errors, [], 'no error');
  t.equal(w.received, 'echo:a\nin-flight\n', 'in-flight bytes arrive, once');
  await client.call({ op: 'send', id: c.id, data: 'b\n' });
  const w2 = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:b\n' });
  t.equal(w2.received, 'echo:a\nin-flight\necho:b\n', 'connection carries on');
});

t.test('a lingering socket on the same 4-tuple does not block a restore', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  const first = startPeer(ns.service);
  const second = startPeer(ns.service);
  t.teardown(() => {
    first.kill();
    second.kill();
  });
  // a peer address on our veth's subnet that nobody owns: the restored socket's packets go
  // nowhere (no ARP answer), so nothing resets it and it lingers like a killed agent's socket
  const ghost = ns.clientIp.replace(/\.1$/, '.9');
  const state = {
    local: { ip: ns.serviceIp, port: PORT },
    remote: { ip: ghost, port: 40000 },
    sendSeq: 1000,
    sndNxt: 1000,
    rcvNxt: 5000,
    sendQueue: '',
    recvQueue: '',
    mss: 1460,
    sndWscale: 7,
    rcvWscale: 7,
    sack: true,
    timestamps: false,
    tsVal: 0,
    window: { sndWnd: 64000, rcvWnd: 64000 },
  };
  // the standby's own service listens on the same port on every address
  await first.call({ op: 'listen', ip: '0.0.0.0', port: PORT });
  const a = await first.call<{ localPort: number }>({ op: 'restore', state });
  t.equal(a.localPort, PORT, 'first restore');
  const raw = await second.call<{ results: Array<Record<string, unknown>> }>({
    op: 'restore-raw',
    specs: [
      { localIp: ns.serviceIp, localPort: PORT, remoteIp: ghost, remotePort: 40000, sendSeq: 1, recvSeq: 1 },
    ],
  });
  t.match(
    raw.results[0],
    { code: /^EADDR/ },
    `the bare addon clashes with the lingering socket (${raw.results[0].step})`,
  );
  const b = await second.call<{ localPort: number }>({ op: 'restore', state });
  t.equal(b.localPort, PORT, 'second restore of the same 4-tuple succeeds (lingering socket cleared)');
});

t.test('errors carry errno, code and the failing step; one failure does not stop the batch', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  const peer = startPeer(ns.service);
  t.teardown(() => peer.kill());
  const good = {
    localIp: ns.serviceIp,
    localPort: PORT,
    remoteIp: ns.clientIp,
    remotePort: 40001,
    sendSeq: 1,
    recvSeq: 1,
    mss: 1460,
  };
  const { results } = await peer.call<{ results: Array<Record<string, unknown>> }>({
    op: 'restore-raw',
    specs: [
      { ...good, localIp: '10.255.255.254' }, // not local here
      { ...good, localIp: 'not-an-ip' },
      { ...good, remotePort: 0 },
      good,
      { ...good, family: 6, localIp: '::1', remoteIp: '::1' },
      { ...good, sndWscale: 15 },
    ],
  });
  t.match(results[0], { step: 'bind', code: 'EADDRNOTAVAIL', errno: 99 }, 'non-local address fails at bind');
  t.match(results[1], { step: 'parse-local-address', code: 'EINVAL' }, 'bad address');
  t.match(results[2], { step: 'validate', code: 'EINVAL', message: /ports/ }, 'bad port');
  t.type(results[3].fd, 'number', 'the good one in the same batch is restored');
  t.type(results[4].fd, 'number', 'IPv6 restore');
  t.match(results[5], { step: 'validate', message: /window scales/ }, 'bad window scale');
  const warm = await peer.call<{ made: number }>({ op: 'warm', n: 200 });
  t.equal(warm.made, 200, 'warm-up creates and drops its sockets');
});

t.test('a batch made on several threads gives each socket its own values, in order', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  const peer = startPeer(ns.service);
  t.teardown(() => peer.kill());
  const n = 300;
  const bad = (i: number) => i % 50 === 7;
  const specs = Array.from({ length: n }, (_, i) => ({
    localIp: ns.serviceIp,
    localPort: PORT,
    remoteIp: ns.clientIp,
    remotePort: bad(i) ? 0 : 20_000 + i,
    // some wrap past 2^32 within the batch
    sendSeq: (0xffff_f000 + i * 4099) >>> 0,
    recvSeq: (0x8000_0000 + i * 7919) >>> 0,
    mss: 1200 + (i % 200),
    sndWscale: i % 15,
    rcvWscale: (i * 3) % 15,
    sack: i % 2 === 0,
    tsVal: i % 3 === 0 ? undefined : 1000 + i,
    recvQueue: Buffer.from(`request ${i}\r\n`).toString('base64'),
  }));
  const { results } = await peer.call<{ results: Array<Record<string, unknown>> }>({
    op: 'restore-raw',
    specs,
    threads: 2,
    readBack: true,
  });
  t.equal(results.length, n, 'one outcome per spec');
  const wrong: string[] = [];
  results.forEach((r, i) => {
    const s = specs[i];
    if (bad(i)) {
      if (r.step !== 'validate') wrong.push(`${i}: expected a validation error, got ${JSON.stringify(r)}`);
      return;
    }
    const got = { sendSeq: r.sendSeq, recvSeq: r.recvSeq, mss: r.mss, recvQueue: r.recvQueue };
    const want = { sendSeq: s.sendSeq, recvSeq: s.recvSeq, mss: s.mss, recvQueue: s.recvQueue };
    if (JSON.stringify(got) !== JSON.stringify(want))
      wrong.push(`${i}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
    if (r.sndWscale !== s.sndWscale || r.rcvWscale !== s.rcvWscale) wrong.push(`${i}: window scales`);
  });
  t.same(
    wrong.slice(0, 5),
    [],
    'every socket has its own spec (sequence numbers, MSS, scales, queued bytes)',
  );
  t.equal(results.filter((r) => typeof r.fd === 'number').length, n - 6, 'all the valid ones restored');
});
