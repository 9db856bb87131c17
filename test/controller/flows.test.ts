// The pure flow builders and decisions: pipeline, mirror outputs, learning, redirect, resync plan.
import t from 'tap';
import { learnDecision } from '../../controller/apps/learning-switch.js';
import { planResync } from '../../controller/desired-state.js';
import { cookieFor, cookieKindOf, isOurs } from '../../controller/flows/cookies.js';
import { learntFlowsFrom, learntRewrites } from '../../controller/flows/learnt-flow.js';
import { MirrorApp } from '../../controller/apps/mirror.js';
import { mirrorIngressFlow, mirrorOfCookie } from '../../controller/flows/mirror-flows.js';
import { mirrorOutputs } from '../../controller/flows/mirror-outputs.js';
import { pipelineFlows } from '../../controller/flows/pipeline.js';
import { redirectFlows } from '../../controller/flows/redirect-flows.js';
import type { WireFlowStats } from '../../controller/of-wire.js';

t.test('cookies', async (t) => {
  t.ok(isOurs(cookieFor('mirror', 5n)));
  t.notOk(isOurs(0x1234n));
  t.equal(cookieKindOf(cookieFor('redirect', 9n)), 'redirect');
  t.equal(cookieKindOf(0n), undefined);
});

t.test('mirror outputs: each frame reaches the target once, never back out its in-port', async (t) => {
  const m = [{ sourcePort: 2, targetPort: 3 }];
  t.same(mirrorOutputs(1, [2], m), [2, 3], 'towards the mirrored port: copy to the target');
  t.same(mirrorOutputs(2, [1], m), [1], 'from the mirrored port: table 0 already copied');
  t.same(mirrorOutputs(2, [3], m), [], 'from the mirrored port to the target: table 0 copy is the only one');
  t.same(mirrorOutputs(3, [2], m), [2], 'from the target to the mirrored port: not echoed back');
  t.same(mirrorOutputs(1, [1, 2, 3, 4], m), [2, 3, 4], 'flood from elsewhere: target once');
  t.same(mirrorOutputs(2, [1, 2, 3, 4], m), [1, 4], 'flood from the mirrored port: target only via table 0');
  t.same(mirrorOutputs(1, [4], []), [4]);
});

t.test('learnt flows are rewritten in place to what relearning would install', async (t) => {
  // the switch applies the MODIFYs in order: a flow ends with the last rewrite that matches it
  const effective = (rw: ReturnType<typeof learntRewrites>, inPort: number, mac: string) => {
    let outs: number[] | undefined;
    for (const r of rw)
      if (r.match.ethDst === mac && (r.match.inPort === undefined || r.match.inPort === inPort))
        outs = r.outPorts;
    return outs;
  };
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let checked = 0;
  for (let round = 0; round < 300; round++) {
    const nPorts = 2 + rnd(6);
    const macs = new Map<string, number>();
    for (let i = 0; i < 1 + rnd(6); i++)
      macs.set(`02:00:00:00:00:${i.toString(16).padStart(2, '0')}`, 1 + rnd(nPorts));
    const mirrors = [];
    for (let i = 0; i < rnd(3); i++) {
      const sourcePort = 1 + rnd(nPorts);
      const targetPort = 1 + rnd(nPorts);
      if (sourcePort !== targetPort) mirrors.push({ sourcePort, targetPort });
    }
    const rw = learntRewrites(macs, mirrors);
    for (const [mac, port] of macs)
      for (let inPort = 1; inPort <= nPorts; inPort++) {
        if (inPort === port) continue;
        const want = mirrorOutputs(inPort, [port], mirrors);
        const got = effective(rw, inPort, mac);
        if (!got || got.join() !== want.join()) {
          t.fail(`in_port ${inPort} -> ${mac}@${port} with ${JSON.stringify(mirrors)}: ${got} != ${want}`);
          return;
        }
        checked++;
      }
  }
  t.ok(checked > 1000, `${checked} (in_port, eth_dst) flows end with the outputs relearning gives`);
  const one = learntRewrites(new Map([['02:00:00:00:00:01', 1]]), [{ sourcePort: 1, targetPort: 3 }]);
  t.same(
    one,
    [
      { match: { ethDst: '02:00:00:00:00:01' }, outPorts: [1, 3] },
      { match: { inPort: 3, ethDst: '02:00:00:00:00:01' }, outPorts: [1] },
    ],
    'one rewrite for any in-port, a narrower one where the outputs differ',
  );
  t.same(learntRewrites(new Map([['02:00:00:00:00:01', 1]]), []), [
    { match: { ethDst: '02:00:00:00:00:01' }, outPorts: [1] },
  ]);
});

t.test('learnt flows from a redirect target to the known hosts', async (t) => {
  const macs = new Map([
    ['02:00:00:00:00:01', 1], // client
    ['02:00:00:00:00:02', 2], // fenced service
    ['02:00:00:00:00:03', 3], // standby itself
    ['02:00:00:00:00:04', 4],
  ]);
  const flows = learntFlowsFrom(3, macs, [{ sourcePort: 4, targetPort: 5 }], 30, 2);
  t.same(
    flows.map((f) => [f.match.inPort, f.match.ethDst, f.apply, f.idleTimeout, f.tableId, f.priority]),
    [
      [3, '02:00:00:00:00:01', [{ type: 'output', port: 1 }], 30, 1, 100],
      [
        3,
        '02:00:00:00:00:04',
        [
          { type: 'output', port: 4 },
          { type: 'output', port: 5 },
        ],
        30,
        1,
        100,
      ],
    ],
    'not to itself, not to the skipped port, mirror copies included',
  );
});

t.test('learning decisions', async (t) => {
  const macs = new Map<string, number>();
  const ports = [1, 2, 3];
  const f = (src: string, dst: string) => ({ src, dst, ethType: 0x0800 });
  let d = learnDecision(macs, 1, f('02:00:00:00:00:01', 'ff:ff:ff:ff:ff:ff'), ports, [], 60);
  t.same(d.outputs, [2, 3], 'broadcast floods');
  t.same(d.learnt, { mac: '02:00:00:00:00:01', port: 1, movedFrom: undefined });
  t.equal(d.flow, undefined);
  d = learnDecision(macs, 2, f('02:00:00:00:00:02', '02:00:00:00:00:09'), ports, [], 60);
  t.same(d.outputs, [1, 3], 'unknown unicast floods');
  d = learnDecision(macs, 2, f('02:00:00:00:00:02', '02:00:00:00:00:01'), ports, [], 60);
  t.same(d.outputs, [1]);
  t.match(d.flow, {
    tableId: 1,
    priority: 100,
    match: { inPort: 2, ethDst: '02:00:00:00:00:01' },
    idleTimeout: 60,
  });
  t.equal(d.learnt, undefined, 'already known');
  d = learnDecision(macs, 3, f('02:00:00:00:00:01', '02:00:00:00:00:02'), ports, [], 60);
  t.same(d.learnt, { mac: '02:00:00:00:00:01', port: 3, movedFrom: 1 }, 'a moved MAC is relearnt');
  d = learnDecision(macs, 2, f('02:00:00:00:00:02', '02:00:00:00:00:02'), ports, [], 60);
  t.same(d.outputs, [], 'hairpin dropped');
  d = learnDecision(
    macs,
    3,
    f('02:00:00:00:00:01', '02:00:00:00:00:02'),
    ports,
    [{ sourcePort: 2, targetPort: 1 }],
    60,
  );
  t.same(
    d.flow?.apply.map((a) => (a.type === 'output' ? a.port : -1)),
    [2, 1],
    'learnt flow towards a mirrored port copies to the target',
  );
});

t.test('pipeline, mirror and redirect flows', async (t) => {
  const p = pipelineFlows();
  t.match(p, [
    { tableId: 0, priority: 0, gotoTable: 1, apply: [] },
    { tableId: 1, priority: 0, apply: [{ type: 'output', port: 0xfffffffd }] },
  ]);
  t.match(mirrorIngressFlow(4n, 2, 3), {
    tableId: 0,
    priority: 200,
    match: { inPort: 2 },
    apply: [{ type: 'output', port: 3 }],
    gotoTable: 1,
  });
  const r = redirectFlows({
    redirectNo: 1n,
    fromPort: 2,
    ip: '10.0.0.5',
    toPort: 3,
    toMac: '02:00:00:00:00:03',
    copyTo: [4],
  });
  t.match(r, [
    {
      priority: 300,
      match: { ethType: 0x0800, ipv4Dst: '10.0.0.5' },
      apply: [
        { type: 'set_eth_dst', mac: '02:00:00:00:00:03' },
        { type: 'output', port: 3 },
        { type: 'output', port: 4 },
      ],
    },
    {
      priority: 300,
      match: { ethType: 0x0806, arpTpa: '10.0.0.5' },
      apply: [
        { type: 'output', port: 3 },
        { type: 'output', port: 4 },
      ],
    },
  ]);
  t.equal(r[0].cookie & 0xffffn, 2n, 'fromPort kept in the cookie');
});

const stats = (f: Partial<WireFlowStats>): WireFlowStats => ({
  tableId: 0,
  durationSec: 1,
  priority: 0,
  idleTimeout: 0,
  hardTimeout: 0,
  cookie: 0n,
  packetCount: 0n,
  byteCount: 0n,
  match: {},
  unknownFields: [],
  apply: [],
  ...f,
});

t.test("a mirror's fence-on-link-down setting travels in its flow's cookie", async (t) => {
  const plain = mirrorIngressFlow(7n, 2, 3);
  const fencing = mirrorIngressFlow(7n, 2, 3, true);
  t.not(plain.cookie, fencing.cookie, 'the setting changes the cookie');
  t.equal(cookieKindOf(fencing.cookie), 'mirror', 'still a mirror cookie');
  t.same(mirrorOfCookie(plain.cookie), { mirrorNo: 7n, fenceOnLinkDown: false });
  t.same(mirrorOfCookie(fencing.cookie), { mirrorNo: 7n, fenceOnLinkDown: true });
  // a restarted controller adopts both mirrors from the switch's flows, the setting included
  const apps = new MirrorApp();
  const adopted = apps.adopt('00000000000000aa', [
    stats({ ...plain }),
    stats({ ...mirrorIngressFlow(8n, 4, 3, true) }),
  ]);
  t.match(adopted, [
    { id: 'm7', sourcePort: 2, targetPort: 3, fenceOnLinkDown: false },
    { id: 'm8', sourcePort: 4, targetPort: 3, fenceOnLinkDown: true },
  ]);
  t.notOk(apps.fencesOnLinkDown('00000000000000aa', 2));
  t.ok(apps.fencesOnLinkDown('00000000000000aa', 4));
  // and its desired flows are the ones found (no resync churn)
  t.equal(MirrorApp.flows(apps.get('m8'))[0].cookie, mirrorIngressFlow(8n, 4, 3, true).cookie);
});

t.test('resync plan', async (t) => {
  const desired = [...pipelineFlows(), mirrorIngressFlow(1n, 2, 3)];
  const empty = planResync(desired, []);
  t.equal(empty.install.length, 3, 'empty switch: install everything');
  t.equal(empty.remove.length, 0);
  const actual = [
    stats({ ...pipelineFlows()[0] }),
    stats({ ...pipelineFlows()[1] }),
    stats({ ...mirrorIngressFlow(1n, 2, 4) }), // wrong target
    stats({
      tableId: 1,
      priority: 100,
      cookie: cookieFor('learning'),
      match: { inPort: 1, ethDst: '02:00:00:00:00:02' },
      apply: [{ type: 'output', port: 2 }],
    }),
    stats({ tableId: 3, priority: 7, cookie: cookieFor('pipeline') }), // stale
    stats({ tableId: 5, priority: 5, cookie: 0x1234n }), // not ours
  ];
  const plan = planResync(desired, actual);
  t.equal(plan.kept, 2, 'pipeline kept');
  t.same(
    plan.remove.map((f) => `${f.tableId}/${f.priority}`).sort(),
    ['0/200', '1/100', '3/7'],
    'wrong mirror, learnt and stale flows removed; the foreign one untouched',
  );
  t.same(
    plan.install.map((f) => f.priority),
    [200],
    'the right mirror flow installed',
  );
});

t.test('frames: senders of ARP, IPv4 and IPv6', async (t) => {
  const { parseFrame } = await import('../../controller/packets/frame.js');
  const { formatIpv6, parseIpv6 } = await import('../../controller/packets/addresses.js');
  const eth = (type: number) =>
    Buffer.concat([Buffer.from('ffffffffffff020000000001', 'hex'), Buffer.from([type >> 8, type & 0xff])]);
  const arp = Buffer.concat([
    eth(0x0806),
    Buffer.from('0001080006040001020000000001', 'hex'),
    Buffer.from([10, 0, 0, 1]),
    Buffer.alloc(10),
  ]);
  t.match(parseFrame(arp), {
    src: '02:00:00:00:00:01',
    dst: 'ff:ff:ff:ff:ff:ff',
    ethType: 0x0806,
    senderIp: '10.0.0.1',
  });
  const v6 = Buffer.concat([eth(0x86dd), Buffer.alloc(8), parseIpv6('fd00::1:2'), parseIpv6('fd00::9')]);
  t.equal(parseFrame(v6)?.senderIp, 'fd00::1:2');
  t.equal(parseFrame(Buffer.alloc(10)), undefined, 'runt');
  for (const ip of ['::', '::1', 'fd00::', '2001:db8:0:0:1:0:0:1', '1:2:3:4:5:6:7:8', 'fe80::1:0:0:2']) {
    t.equal(
      formatIpv6(parseIpv6(ip)),
      ip === '2001:db8:0:0:1:0:0:1' ? '2001:db8::1:0:0:1' : ip,
      `round trip ${ip}`,
    );
  }
});
