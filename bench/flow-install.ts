// bench/flow-install: N flows into a real (userspace) OVS through the controller, closed by one
// barrier, versus the same N flows by `ovs-ofctl -O OpenFlow13 add-flows` from a file.
// Prints both rates and the ratio (target: controller >= 0.8x ovs-ofctl).
//   npx tsx bench/flow-install.ts [--flows 10000] [--rounds 3]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Controller } from '../controller/controller.js';
import type { ControllerEvent } from '../controller/facade.js';
import { cookieFor } from '../controller/flows/cookies.js';
import type { FlowSpec } from '../controller/flows/flow-spec.js';
import { encodeFlowMod, FLOW_CMD } from '../controller/of-wire.js';
import { Lab, run } from '../topology/lab/index.js';

const { values } = parseArgs({
  options: { flows: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' } },
});
const N = Number(values.flows);
const ROUNDS = Number(values.rounds);
const TABLE = 5; // outside the pipeline: the flows never match live traffic

const mac = (i: number) =>
  `02:bb:${[(i >> 24) & 0xff, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;

function benchFlow(i: number): FlowSpec {
  return {
    tableId: TABLE,
    priority: 1000,
    cookie: cookieFor('bench', BigInt(i)),
    match: { inPort: 1, ethDst: mac(i) },
    apply: [{ type: 'output', port: 2 }],
  };
}

async function main(): Promise<void> {
  const lab = await Lab.create();
  const cleanup = () => lab.destroySync();
  process.on('exit', cleanup);
  try {
    const sw = await lab.addSwitch('s1', { dpid: '00000000000000be' });
    await lab.addHost('h1', { sw, ofport: 1, ip: '10.9.0.1/24' });
    await lab.addHost('h2', { sw, ofport: 2, ip: '10.9.0.2/24' });
    const c = new Controller({
      logger: pino({ level: 'warn' }),
      registry: new Registry(),
      ofListen: { path: sw.controllerSocket },
    });
    await c.start();
    const up = new Promise<void>((resolve) => {
      const off = c.onEvent((e: ControllerEvent) => {
        if (e.type === 'switch-connected') {
          off();
          resolve();
        }
      });
    });
    await sw.setController([`unix:${sw.controllerSocket}`]);
    await up;
    const session = c.session('00000000000000be');
    const mgmt = sw.ovs.mgmtSocket(sw.bridge);
    const file = join(lab.dir, 'flows.txt');
    writeFileSync(
      file,
      Array.from(
        { length: N },
        (_, i) =>
          `cookie=0x${cookieFor('bench', BigInt(i)).toString(16)},table=${TABLE},priority=1000,in_port=1,dl_dst=${mac(i)},actions=output:2\n`,
      ).join(''),
    );
    const specs = Array.from({ length: N }, (_, i) => benchFlow(i));
    const count = async () =>
      (await sw.dumpFlows(`table=${TABLE}`)).filter((l) => l.includes('priority=1000')).length;
    const clear = () =>
      run('ovs-ofctl', ['-O', 'OpenFlow13', 'del-flows', mgmt, `table=${TABLE}`], { env: sw.ovs.env });

    const ctl: number[] = [];
    const ofctl: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await clear();
      let t0 = performance.now();
      await session.batch(
        specs.map((f) => (xid: number) => encodeFlowMod(xid, f, { command: FLOW_CMD.ADD })),
      );
      ctl.push(performance.now() - t0);
      const n1 = await count();
      if (n1 !== N) throw new Error(`controller installed ${n1} of ${N} flows`);

      await clear();
      t0 = performance.now();
      await run('ovs-ofctl', ['-O', 'OpenFlow13', 'add-flows', mgmt, file], {
        env: sw.ovs.env,
        timeoutMs: 300_000,
      });
      ofctl.push(performance.now() - t0);
      const n2 = await count();
      if (n2 !== N) throw new Error(`ovs-ofctl installed ${n2} of ${N} flows`);
    }
    const best = (xs: number[]) => Math.min(...xs);
    const rate = (ms: number) => Math.round((N / ms) * 1000);
    const rc = rate(best(ctl));
    const ro = rate(best(ofctl));
    console.log(`flow-install: ${N} flows, best of ${ROUNDS} rounds, userspace OVS`);
    console.log(
      `  controller (flow-mods + barrier): ${best(ctl).toFixed(0)} ms  ${rc} flows/s  (rounds: ${ctl.map((x) => x.toFixed(0)).join(', ')} ms)`,
    );
    console.log(
      `  ovs-ofctl add-flows:              ${best(ofctl).toFixed(0)} ms  ${ro} flows/s  (rounds: ${ofctl.map((x) => x.toFixed(0)).join(', ')} ms)`,
    );
    console.log(
      `  ratio controller/ovs-ofctl: ${(rc / ro).toFixed(2)}x (target >= 0.8x) ${rc / ro >= 0.8 ? 'MET' : 'NOT MET'}`,
    );
    await c.stop();
  } finally {
    await lab.destroy();
    process.off('exit', cleanup);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
