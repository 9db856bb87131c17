// Safety: with the controller unreachable the agent starts (and keeps retrying the mirror), but
// a failover — even a forced one — does not take over: it cannot fence, so it does nothing
// else, and the report says so.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import type { FailoverReport } from '../../standby-agent/failover/report.js';
import { createNsPair, startPeer } from '../restore/netns-peers.js';

t.test('controller unreachable: no takeover', async (t) => {
  const ns = createNsPair();
  t.teardown(() => ns.destroy());
  // the agent runs in the "service" namespace of the pair; the address it would take over is
  // on the other side (so a route to it exists), and must never appear here
  const agent = startPeer(ns.service);
  t.teardown(() => agent.kill());
  const target = ns.clientIp;
  const started = await agent.call<{ mirrored: boolean }>({
    op: 'agent-start',
    controllerUrl: 'unix:/nonexistent/nonstop-controller.sock',
    dpid: '0000000000000001',
    servicePort: 2,
    standbyPort: 3,
    serviceIp: target,
    localPort: 7000,
  });
  t.equal(started.mirrored, false, 'started without the mirror (retrying)');
  const { report } = await agent.call<{ report: FailoverReport }>({ op: 'agent-failover', verdicts: [] });
  t.equal(report.outcome, 'aborted');
  t.match(report.error, /controller unreachable.*not taking over/);
  t.same(
    report.steps.map((s) => `${s.name}:${s.ok}`),
    ['safety-check:true', 'fence:false'],
  );
  const addrs = execFileSync('ip', ['-n', ns.service, '-o', 'addr', 'show']).toString();
  t.notMatch(addrs, new RegExp(`inet ${target.replace(/\./g, '\\.')}/`), 'the address was not taken');
});
