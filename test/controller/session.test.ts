// Switch sessions against fake datapaths: version negotiation, handshake, keepalive, errors
// surfaced to the caller, garbage isolation, many switches at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import t from 'tap';
import { Controller } from '../../controller/controller.js';
import { OFPT } from '../../controller/of-wire.js';
import { FakeSwitch, ofMessage } from './fake-switch.js';
import { nextEvent, quietLogger, sleep } from './helpers.js';

async function setup(
  t: { teardown(fn: () => unknown): void },
  extra: Partial<ConstructorParameters<typeof Controller>[0]> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-session-'));
  const path = join(dir, 'of.sock');
  const registry = new Registry();
  const c = new Controller({
    logger: quietLogger(),
    registry,
    ofListen: { path },
    echoIntervalMs: 100,
    deadPeerTimeoutMs: 600,
    requestTimeoutMs: 500,
    ...extra,
  });
  await c.start();
  const fakes: FakeSwitch[] = [];
  t.teardown(async () => {
    for (const f of fakes) f.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const fake = (o: Omit<ConstructorParameters<typeof FakeSwitch>[0], 'path'>) => {
    const f = new FakeSwitch({ path, ...o });
    fakes.push(f);
    return f;
  };
  return { c, fake, registry, path };
}

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

t.test('handshake: features, port-desc, pipeline installed with a barrier', async (t) => {
  const { c, fake, registry } = await setup(t);
  const connected = nextEvent(c, (e) => e.type === 'switch-connected');
  const sw = fake({ dpid: 0xabn, ports: [1, 2, 7] });
  t.match(await connected, { dpid: '00000000000000ab' });
  const info = c.getSwitch('00000000000000AB');
  t.same(
    info.ports.map((p) => [p.portNo, p.name]),
    [
      [1, 'p1'],
      [2, 'p2'],
      [7, 'p7'],
    ],
  );
  t.equal(info.nTables, 254);
  const types = sw.ofTypes();
  t.ok(types.includes(OFPT.FEATURES_REQUEST) && types.includes(OFPT.MULTIPART_REQUEST));
  t.equal(types.filter((x) => x === OFPT.FLOW_MOD).length, 2, 'two pipeline flow-mods');
  t.ok(
    types.lastIndexOf(OFPT.BARRIER_REQUEST) > types.lastIndexOf(OFPT.FLOW_MOD),
    'barrier after the flow-mods',
  );
  const metrics = await registry.metrics();
  t.match(metrics, /nonstop_switches_connected 1/);
  t.match(metrics, /nonstop_openflow_messages_total\{type="features_reply",direction="in"\} 1/);
  t.match(metrics, /nonstop_flow_mods_total\{command="add"\} 2/);
});

t.test('a switch without OpenFlow 1.3 gets HELLO_FAILED and is disconnected', async (t) => {
  const { c, fake } = await setup(t);
  const old = fake({ dpid: 1n, helloVersion: 1, helloBitmap: null });
  await until('disconnect', () => old.closed);
  const err = old.received.find((m) => m.readUInt8(1) === OFPT.ERROR);
  t.ok(err, 'an ERROR was sent');
  t.equal(err?.readUInt16BE(8), 0, 'OFPET_HELLO_FAILED');
  t.equal(err?.readUInt16BE(10), 0, 'OFPHFC_INCOMPATIBLE');
  t.match(err?.subarray(12).toString(), /OpenFlow 1\.3/);
  const bitmapOnly10 = fake({ dpid: 2n, helloBitmap: 1 << 1 });
  await until('disconnect', () => bitmapOnly10.closed);
  t.same(c.listSwitches(), []);
  // a bitmap that includes 1.3 next to others is fine
  const connected = nextEvent(c, (e) => e.type === 'switch-connected');
  fake({ dpid: 3n, helloVersion: 6, helloBitmap: (1 << 4) | (1 << 6) });
  t.match(await connected, { dpid: '0000000000000003' });
});

t.test('garbage disconnects only the switch that sent it', async (t) => {
  const { c, fake } = await setup(t);
  const good = fake({ dpid: 10n });
  const bad = fake({ dpid: 11n });
  const bad2 = fake({ dpid: 12n });
  await until('both connected', () => c.listSwitches().length === 3);
  const gone = nextEvent(c, (e) => e.type === 'switch-disconnected' && e.dpid === '000000000000000b');
  bad.send(Buffer.from([4, 10, 0, 3, 0, 0, 0, 0])); // length 3 < header
  t.match(await gone, { reason: /protocol error/ });
  const gone2 = nextEvent(c, (e) => e.type === 'switch-disconnected' && e.dpid === '000000000000000c');
  bad2.send(ofMessage(OFPT.FEATURES_REPLY, 9, Buffer.alloc(3))); // truncated
  t.match(await gone2, { reason: /undecodable features_reply/ });
  await until('bad closed', () => bad.closed && bad2.closed);
  t.same(
    c.listSwitches().map((s) => s.dpid),
    ['000000000000000a'],
    'the good switch is still connected',
  );
  t.notOk(good.closed);
  await c.getFlows('000000000000000a');
  t.pass('and still answers requests');
});

t.test('echo keepalive both ways and dead-peer timeout', async (t) => {
  // Requests must outlive the dead-peer timeout here, or a slow machine closes the silent
  // switch for a request timeout first.
  const { c, fake } = await setup(t, { requestTimeoutMs: 5000 });
  const live = fake({ dpid: 20n });
  await until('connected', () => c.listSwitches().length === 1);
  live.send(ofMessage(OFPT.ECHO_REQUEST, 77, Buffer.from('ping')));
  await until('echo reply', () =>
    live.received.some((m) => m.readUInt8(1) === OFPT.ECHO_REPLY && m.readUInt32BE(4) === 77),
  );
  t.equal(
    live.received
      .find((m) => m.readUInt8(1) === OFPT.ECHO_REPLY)
      ?.subarray(8)
      .toString(),
    'ping',
    'echo data returned',
  );
  await until('echo request from the controller', () => live.ofTypes().includes(OFPT.ECHO_REQUEST));
  t.pass('the controller sends echo requests');
  const gone = nextEvent(c, (e) => e.type === 'switch-disconnected' && e.dpid === '0000000000000015');
  const silent = fake({ dpid: 21n, answerEcho: false });
  await until('silent connected', () => c.listSwitches().length === 2);
  // a switch that answers nothing is dropped after the dead-peer timeout
  silent.socket.pause();
  t.match(await gone, { reason: /dead peer/ });
  await sleep(300);
  t.same(
    c.listSwitches().map((s) => s.dpid),
    ['0000000000000014'],
    'the live switch (it answers echoes) stays',
  );
});

t.test('a switch ERROR rejects the call that caused it with SwitchError', async (t) => {
  const { c, fake, registry } = await setup(t);
  fake({ dpid: 30n, errorFor: { ofType: OFPT.PORT_MOD, errType: 7, errCode: 0 } });
  await until('connected', () => c.listSwitches().length === 1);
  await t.rejects(c.setPortState('000000000000001e', 2, 'down'), {
    name: 'SwitchError',
    ofError: { type: 'OFPET_PORT_MOD_FAILED', code: 'OFPPMFC_BAD_PORT' },
    message: /port_mod: OFPET_PORT_MOD_FAILED\/OFPPMFC_BAD_PORT/,
  });
  t.match(
    await registry.metrics(),
    /nonstop_openflow_errors_total\{type="OFPET_PORT_MOD_FAILED",code="OFPPMFC_BAD_PORT"\} 1/,
  );
  // the session survives errors
  await c.getFlows('000000000000001e');
});

t.test('a request the switch never answers times out', async (t) => {
  const { c, fake } = await setup(t);
  fake({ dpid: 40n });
  await until('connected', () => c.listSwitches().length === 1);
  const s = c.session('0000000000000028');
  await t.rejects(
    s.request('nothing', (xid) => ofMessage(99, xid)),
    {
      name: 'SwitchError',
      message: /did not answer nothing within 500 ms/,
    },
  );
});

t.test('many switches at once', async (t) => {
  const { c, fake } = await setup(t, { echoIntervalMs: 1000, deadPeerTimeoutMs: 5000 });
  const n = 50;
  for (let i = 0; i < n; i++) fake({ dpid: BigInt(1000 + i) });
  await until('all connected', () => c.listSwitches().length === n, 10_000);
  t.equal(new Set(c.listSwitches().map((s) => s.dpid)).size, n);
  const flows = await Promise.all(c.listSwitches().map((s) => c.getFlows(s.dpid)));
  t.equal(flows.length, n, 'every switch answers its own requests');
});

t.test('a reconnect from the same dpid replaces the old session', async (t) => {
  const { c, fake } = await setup(t);
  const first = fake({ dpid: 50n });
  await until('connected', () => c.listSwitches().length === 1);
  fake({ dpid: 50n });
  await until('old closed', () => first.closed);
  await until('one session', () => c.listSwitches().length === 1);
  t.equal(c.listSwitches().length, 1);
});
