// bench/failover: N keep-alive HTTP connections (nginx), each sending a request every 50 ms;
// the service node dies; per-connection stall (the gap between the last reply before the
// failure and the first after, minus the interval), connections preserved, restore rate. The same run with restoration disabled
// (IP takeover only, like keepalived; clients reconnect) is the baseline. The stall is the largest
// gap that ends after the service's link went down and begins before the agent's report said the
// failover was over (at least a second after the kill); "later p99" is the same measure for the
// gaps that began afterwards: the service's latency under load once it runs on the standby.
//   npx tsx bench/failover.ts [--connections 100,1000] [--interval-ms 50] [--modes restore,baseline]
// BENCH_DEBUG=1 prints, for the connections not preserved, what the report and the clients saw.
// Figures: README.md, "Measured figures".
// --modes mechanics: the takeover mechanics alone, without the controller and the tracker: the
// service (a small Node HTTP service) dies with its link, its kernel's exact socket state stands
// in for the tracker's verdicts; the controller (core + REST API) is real; the standby's
// FailoverService does the rest (fence, address, TCP_REPAIR, redirect, join).
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import type { FailoverReport } from '../standby-agent/failover/report.js';
import { waitForReport } from '../test/failover/e2e-helpers.js';
import {
  agentCall,
  buildScenario,
  type ClientConnSummary,
  killServiceNode,
  runProductFromDist,
  startAgent,
  startClients,
} from '../test/failover/lab-scenario.js';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { buildApi } from '../controller/api/server.js';
import { controllerFor, quietLogger } from '../test/controller/helpers.js';
import { startPeer } from '../test/restore/netns-peers.js';
import { Lab } from '../topology/lab/index.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '100,1000' },
    'interval-ms': { type: 'string', default: '50' },
    modes: { type: 'string', default: 'restore,baseline' },
    'warmup-ms': { type: 'string', default: '2000' },
    'after-ms': { type: 'string', default: '3000' },
  },
});
const interval = Number(values['interval-ms']);
// the controller and the agent as `./nonstop` runs them (`./nonstop bench` builds dist/ first)
runProductFromDist();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Preserved: the same socket throughout, no error, every response correct, and still being
 * answered at the end (a connection that silently hung is not preserved).
 */
function isPreserved(c: ClientConnSummary, durationMs: number): boolean {
  return (
    c.localPorts.length === 1 &&
    c.errors.length === 0 &&
    c.closes === 0 &&
    c.badResponses.length === 0 &&
    // the clients stop sending on the stop signal and report a little later
    durationMs - c.lastResponseMs < 1000 + 2 * interval
  );
}

const execFileAsync = promisify(execFile);
/** /proc's CPU times are in ticks of USER_HZ (100 on Linux) */
const MS_PER_TICK = 1000 / 100;

/** CPU ms (user + system) each thread of `pids` has used, keyed "command/thread pid/tid". */
function threadCpu(pids: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    // node processes by what they run: the agent, the controller or the clients
    const cmd = (() => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const script = argv.find((a) => /standby-agent|controller\/|http-clients/.test(a));
        if (script)
          return /standby-agent/.test(script)
            ? 'agent'
            : /controller/.test(script)
              ? 'controller'
              : 'clients';
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        return '?';
      }
    })();
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        out.set(`${cmd}/${name} ${pid}/${tid}`, (Number(rest[11]) + Number(rest[12])) * MS_PER_TICK);
      } catch {
        // the thread ended
      }
    }
  }
  return out;
}

/** CPU ms, all CPUs together, spent idle and taken by the hypervisor for others ("steal"), from
 *  /proc/stat: a failover on a quiet host and one on a busy host are not the same experiment. */
function hostCpuMs(): { idle: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return { idle: (f[3] + f[4]) * MS_PER_TICK, steal: f[7] * MS_PER_TICK };
}

/** Frames the kernel dropped because a CPU's input backlog was full (all CPUs). */
function softnetDrops(): number {
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((sum, l) => sum + Number.parseInt(l.split(/\s+/)[1], 16), 0);
}

/** Packets dropped from a neighbour's queue while its address was being resolved (all CPUs). */
function arpUnresolvedDiscards(): number {
  const [head, ...rows] = readFileSync('/proc/net/stat/arp_cache', 'utf8').trim().split('\n');
  const col = head.split(/\s+/).indexOf('unresolved_discards');
  return rows.reduce((sum, l) => sum + Number.parseInt(l.trim().split(/\s+/)[col], 16), 0);
}

/**
 * The gap between the last reply before the failure and the first after, minus the interval:
 * the largest gap between replies that ended after the clients were marked (once the link was
 * down). A connection that never answered again (or a run without the mark) counts its largest gap.
 */
function stallOf(c: ClientConnSummary): number {
  return (c.failureGapMs ?? c.maxGapMs) - interval;
}

/** The same measure for the gaps that began once the failover was over (the clients' settle()):
 *  the service's latency under load afterwards, reported beside the stall, not in it. */
function laterStalls(cs: ClientConnSummary[]): number[] {
  return cs
    .filter((c) => c.laterGapMs !== undefined)
    .map((c) => Math.max(0, (c.laterGapMs ?? 0) - interval))
    .sort((a, b) => a - b);
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Row {
  mode: string;
  connections: number;
  preserved: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 over connections of the largest gap (minus the interval) that began after the failover */
  laterP99: number;
  restoresPerSec?: number;
  takeoverMs?: number;
  steps: string;
  outcome: string;
}

async function runOnce(mode: 'restore' | 'baseline', n: number): Promise<Row> {
  const lab = await Lab.create();
  const cleanup = () => lab.destroySync();
  process.once('exit', cleanup);
  try {
    const s = await buildScenario(lab);
    await startAgent(s, { restore: mode === 'restore' });
    // BENCH_PCAP=DIR: the clients' and the standby's links, and the standby's loopback (the relay
    // and its local service), as DIR/client.pcap, DIR/standby.pcap and DIR/standby-lo.pcap
    const pcapDir = process.env.BENCH_PCAP;
    if (pcapDir) {
      for (const [name, host, ifname] of [
        ['client', s.client, s.client.ifname],
        ['standby', s.standby, s.standby.ifname],
        ['standby-lo', s.standby, 'lo'],
      ] as const) {
        const file = join(pcapDir, `${name}.pcap`);
        const args = ['-i', ifname, '-w', file, '-Z', 'root', '--immediate-mode', '-s', '120', '-B', '65536'];
        host.spawn('tcpdump', args, { stdio: 'ignore' });
      }
    }
    if (process.env.BENCH_DEBUG)
      s.standby.spawn('sh', ['-c', `exec ip -ts monitor neigh > ${lab.dir}/standby-neigh.log`], {
        stdio: 'ignore',
      });
    await sleep(300);
    const clients = startClients(s, { connections: n, intervalMs: interval, reconnect: mode === 'baseline' });
    await clients.ready;
    const clientsStartedAt = performance.now();
    const softnetBefore = softnetDrops();
    const arpBefore = arpUnresolvedDiscards();
    await sleep(Number(values['warmup-ms']));
    // the userspace datapath's lookups: how many packets missed its caches and went up (BENCH_DEBUG)
    const pmdStats = async () => {
      const text = await s.sw.ovs.appctl('dpif-netdev/pmd-stats-show');
      const pick = (name: string) => Number(new RegExp(`${name}:\\s*(\\d+)`).exec(text)?.[1] ?? Number.NaN);
      return {
        upcalls: pick('miss with success upcall'),
        megaflowHits: pick('megaflow hits'),
        emcHits: pick('emc hits'),
      };
    };
    const pmdBefore = process.env.BENCH_DEBUG ? await pmdStats() : undefined;
    // BENCH_DEBUG: CPU time each thread of the lab's processes used in the 300 ms after the kill
    const labPids = process.env.BENCH_DEBUG
      ? (
          await Promise.all(
            [s.client, s.standby, s.service, s.sw].map(async (h) =>
              (await execFileAsync('ip', ['netns', 'pids', h.ns])).stdout.split('\n').filter(Boolean),
            ),
          )
        ).flat()
      : [];
    // the same 300 ms before the kill, for comparison
    const steadyStart = threadCpu(labPids);
    if (process.env.BENCH_DEBUG) await sleep(300);
    const steady = threadCpu(labPids);
    const cpuWindow = process.env.BENCH_DEBUG
      ? new Promise<Map<string, number>>((resolve) =>
          setTimeout(() => resolve(threadCpu(labPids)), Number(process.env.BENCH_CPU_WINDOW_MS ?? 300)),
        )
      : undefined;
    const hostAtKill = hostCpuMs();
    const hostWindow = new Promise<{ idle: number; steal: number }>((resolve) =>
      setTimeout(() => {
        const h = hostCpuMs();
        resolve({ idle: h.idle - hostAtKill.idle, steal: h.steal - hostAtKill.steal });
      }, 300),
    );
    const killedAt = performance.now();
    const killedEpochMs = Date.now();
    if (process.env.BENCH_DEBUG) console.error(`[bench]   service killed at epoch ${killedEpochMs / 1000}`);
    await killServiceNode(s);
    // the mark comes once the link is down: a reply the clients get after it is the standby's
    // (marked before, the dying service's last replies would count as the gap's end)
    clients.mark();
    // Stay off the CPU while the failover runs: each poll for the report spawns a curl in the
    // standby's namespace (several ms of CPU on a 2-core machine, every 50 ms). The report's
    // own timings say when each step ran.
    await sleep(1000);
    let report: FailoverReport | undefined;
    try {
      report = await waitForReport(s, 30_000);
    } catch {
      // reported below as outcome "none"
    }
    // the failover is over (or never came): a gap that begins from here on is not its stall
    clients.settle();
    const detectMs = performance.now() - killedAt;
    if (report && Date.parse(report.startedAt) < killedEpochMs)
      console.error(
        `[bench]   WARNING: the failover began ${killedEpochMs - Date.parse(report.startedAt)} ms before the kill (false detection): ${JSON.stringify(report.trigger)}`,
      );
    await sleep(Number(values['after-ms']));
    const st = (await agentCall(s, 'GET', '/v1/status')).json as { failover?: { resumed?: unknown } };
    const resumed = st.failover?.resumed as Record<string, number> | undefined;
    const atKill = (k: string) => (resumed?.[k] === undefined ? '-' : Math.round(resumed[k] - killedEpochMs));
    console.error(
      `[bench]   resumed: ${JSON.stringify(resumed)}; after the kill: first join ${atKill('firstJoinAt')} ms, last connect ${atKill('lastConnectAt')}, last hand-over ${atKill('lastHandOverAt')}`,
    );
    const summary = await clients.stop();
    const stalls = summary.connections
      .filter((c) => c.responses > 0)
      .map((c) => Math.max(0, stallOf(c)))
      .sort((a, b) => a - b);
    const preserved = summary.connections.filter((c) => isPreserved(c, summary.durationMs)).length;
    // why the others were not: the agent's verdicts, and what their clients saw
    const codes: Record<string, number> = {};
    for (const c of report?.connections ?? [])
      codes[`${c.outcome}:${c.code}`] = (codes[`${c.outcome}:${c.code}`] ?? 0) + 1;
    const seen: Record<string, number> = {};
    for (const c of summary.connections) {
      if (isPreserved(c, summary.durationMs)) continue;
      const why =
        c.errors.length > 0
          ? `error ${c.errors[0].code}`
          : c.closes > 0
            ? 'closed'
            : c.badResponses.length > 0
              ? 'bad response'
              : c.localPorts.length > 1
                ? 'reconnected'
                : 'no answer at the end';
      seen[why] = (seen[why] ?? 0) + 1;
    }
    console.error(
      `[bench]   report: ${JSON.stringify(codes)}; not preserved, as the clients saw it: ${JSON.stringify(seen)}`,
    );
    if (process.env.BENCH_DEBUG) {
      const byPort = new Map((report?.connections ?? []).map((c) => [Number(c.client.split(':').pop()), c]));
      const hung = summary.connections.filter((c) => !isPreserved(c, summary.durationMs)).slice(0, 4);
      console.error(
        `[bench]   clients ran ${Math.round(summary.durationMs)} ms, failover at ${Math.round(killedAt - clientsStartedAt)} ms`,
      );
      for (const c of hung)
        console.error(`[bench]   hung ${JSON.stringify({ ...c, report: byPort.get(c.localPorts[0]) })}`);
      // what the restore had to do for a connection, as its report line says
      const kindOf = (c: ClientConnSummary) => {
        const r = byPort.get(c.localPorts[0]);
        return (
          `${r?.replyPrefixBytes !== undefined ? 'prefix ' : ''}${r?.replyGapFilled ? 'gap ' : ''}${r?.topUpBytes ? 'topup ' : ''}${r?.sendQueueBytes ? 'sendq ' : ''}${r?.recvQueueBytes ? 'recvq' : ''}` ||
          'plain'
        );
      };
      const kinds: Record<string, [number, number, number]> = {};
      for (const c of summary.connections) {
        const k = kindOf(c);
        kinds[k] ??= [0, 0, 0];
        const kk = kinds[k];
        kk[0]++;
        if (!isPreserved(c, summary.durationMs)) kk[1]++;
        kk[2] = Math.max(kk[2], Math.round(stallOf(c)));
      }
      console.error(
        `[bench]   [all, not preserved, longest stall] by restore kind: ${JSON.stringify(kinds)}`,
      );
      // when, after the kill, each connection had its last reply before the gap and its first
      // after (the clients' clock, aligned at "ready")
      const killAtClient = (clients.readyAtMs ?? 0) + (killedAt - clientsStartedAt);
      const across = summary.connections.filter((c) => c.failureGapStartMs !== undefined);
      const starts = across.map((c) => (c.failureGapStartMs ?? 0) - killAtClient).sort((a, b) => a - b);
      const ends = across
        .map((c) => (c.failureGapStartMs ?? 0) + (c.failureGapMs ?? 0) - killAtClient)
        .sort((a, b) => a - b);
      const q = (xs: number[]) =>
        [0, 10, 50, 90, 99, 100].map((p) => Math.round(p === 0 ? xs[0] : pct(xs, p)));
      console.error(
        `[bench]   gap start after the kill (min p10 p50 p90 p99 max): ${q(starts).join(' ')}; gap end: ${q(ends).join(' ')}`,
      );
      // the same, by what the restore had to do for the connection (see kinds above)
      const endsByKind = new Map<string, number[]>();
      for (const c of across) {
        const k = kindOf(c);
        const list = endsByKind.get(k) ?? [];
        list.push((c.failureGapStartMs ?? 0) + (c.failureGapMs ?? 0) - killAtClient);
        endsByKind.set(k, list);
      }
      console.error(
        `[bench]   gap end by kind (n p10 p50 p90): ${[...endsByKind]
          .map(([k, xs]) => {
            xs.sort((a, b) => a - b);
            return `${k} ${xs.length} ${[10, 50, 90].map((p) => Math.round(pct(xs, p))).join(' ')}`;
          })
          .join(' | ')}`,
      );
      // the connections whose failure gap was longest, to follow one in a capture (BENCH_PCAP)
      for (const c of [...across].sort((a, b) => (b.failureGapMs ?? 0) - (a.failureGapMs ?? 0)).slice(0, 3)) {
        const start = Math.round((c.failureGapStartMs ?? 0) - killAtClient);
        const end = Math.round(start + (c.failureGapMs ?? 0));
        console.error(
          `[bench]   longest gap: client port ${c.localPorts[0]} (${kindOf(c)}) from ${start} to ${end} ms after the kill; report ${JSON.stringify(byPort.get(c.localPorts[0]))}`,
        );
      }
      if (cpuWindow) {
        const show = (what: string, ms: number, from: Map<string, number>, to: Map<string, number>) => {
          const used = [...to]
            .map(([k, v]) => [k, v - (from.get(k) ?? 0)] as const)
            .filter(([, v]) => v > 0)
            .sort((a, b) => b[1] - a[1]);
          const total = used.reduce((a, [, v]) => a + v, 0);
          console.error(
            `[bench]   CPU ms in the ${ms} ms ${what} (${total} in all): ${used
              .slice(0, 10)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
        };
        show('before the kill', 300, steadyStart, steady);
        show('after the kill', Number(process.env.BENCH_CPU_WINDOW_MS ?? 300), steady, await cpuWindow);
      }
      if (pmdBefore) {
        const after = await pmdStats();
        const flows = (await s.sw.ovs.appctl('dpctl/dump-flows')).trim().split('\n').length;
        console.error(
          `[bench]   datapath since the kill: ${after.upcalls - pmdBefore.upcalls} upcalls, ${after.megaflowHits - pmdBefore.megaflowHits} megaflow hits, ${after.emcHits - pmdBefore.emcHits} exact-match hits; ${flows} datapath flows now`,
        );
      }
      // packet-ins OVS dropped because the controller connection's queue was full
      const cov = (await s.sw.ovs.appctl('coverage/show'))
        .split('\n')
        .filter((l) => /overflow|packet_in|pktbuf|unsent|rconn|ofproto_packet|dpif_execute|upcall/i.test(l));
      console.error(`[bench]   ovs coverage: ${cov.map((l) => l.trim().replace(/\s+/g, ' ')).join(' | ')}`);
      console.error(`[bench]   ovs ports: ${(await s.sw.ofctl('dump-ports')).replace(/\s+/g, ' ')}`);
      for (const [name, h] of [
        ['standby', s.standby],
        ['client', s.client],
      ] as const)
        console.error(
          `[bench]   ${name} link: ${(await h.exec('ip', ['-s', 'link', 'show', h.ifname])).stdout.replace(/\s+/g, ' ')}`,
        );
      console.error(`[bench]   softnet drops: ${softnetDrops() - softnetBefore}`);
      // the standby's TCP: a full listen queue at the local service, and retransmissions
      const nstat = (await s.standby.exec('nstat', ['-az'])).stdout
        .split('\n')
        .filter((l) =>
          /ListenOverflows|ListenDrops|TCPTimeouts|RetransSegs|TCPLostRetransmit|TCPSynRetrans|LossProbe|FastRetrans|SlowStartRetrans|RetransFail|SpuriousRtx|DSACK|TCPSackRec|TCPRenoRec|TCPFullUndo|TCPPartialUndo|TCPLossUndo|TCPAbortOn/.test(
            l,
          ),
        );
      console.error(
        `[bench]   standby TCP counters: ${nstat.map((l) => l.trim().replace(/\s+/g, ' ')).join(' | ')}`,
      );
      // the switch reads each port through a packet socket: its drops (d) are frames OVS never saw
      const ss = execFileSync('ip', ['netns', 'exec', s.sw.ns, 'ss', '-0', '-a', '-m', '-p']).toString();
      console.error(`[bench]   switch packet sockets: ${ss.replace(/\s+/g, ' ')}`);
      console.error(`[bench]   arp unresolved discards: ${arpUnresolvedDiscards() - arpBefore}`);
      console.error(
        `[bench]   standby neighbour events:\n${readFileSync(`${lab.dir}/standby-neigh.log`, 'utf8')}`,
      );
      if (report) {
        console.error(`[bench]   trigger: ${JSON.stringify(report.trigger)}`);
        // each step's start and end, in ms after the service was killed
        const t0 = Date.parse(report.startedAt) - killedEpochMs;
        console.error(
          `[bench]   steps after the kill: ${report.steps.map((x) => `${x.name} ${Math.round(t0 + x.startMs)}-${Math.round(t0 + x.startMs + x.durationMs)}`).join(', ')}`,
        );
        for (const x of report.steps.filter((x) => x.name === 'snapshot' || x.name === 'top-up'))
          console.error(`[bench]   ${x.name}: ${x.detail ?? ''}`);
      }
      console.error(
        `[bench]   standby neighbours: ${(await s.standby.exec('ip', ['-s', 'neigh', 'show', 'dev', s.standby.ifname])).stdout.replace(/\s+/g, ' ')}`,
      );
    }
    return {
      mode,
      connections: n,
      preserved,
      p50: pct(stalls, 50),
      p99: pct(stalls, 99),
      max: stalls[stalls.length - 1] ?? Number.NaN,
      laterP99: pct(laterStalls(summary.connections), 99),
      restoresPerSec: report?.summary.restoreRatePerSec,
      takeoverMs: report?.takeoverMs,
      steps: `${
        report
          ? report.steps.map((x) => `${x.name}=${x.durationMs}`).join(' ')
          : `no report after ${Math.round(detectMs)} ms`
      }; host in the 300 ms after the kill: ${await hostWindow.then((h) => `idle ${h.idle}, steal ${h.steal} of ${300 * cpus().length} CPU ms`)}`,
      // a failover that began before the kill was a false detection: the row does not count
      outcome: !report ? 'none' : Date.parse(report.startedAt) < killedEpochMs ? 'EARLY' : report.outcome,
    };
  } finally {
    await lab.destroy();
    process.off('exit', cleanup);
  }
}

async function runMechanics(n: number): Promise<Row> {
  const lab = await Lab.create();
  const cleanup = () => lab.destroySync();
  process.once('exit', cleanup);
  const peers: Array<{ kill(): void }> = [];
  const stops: Array<() => Promise<void>> = [];
  try {
    const dpid = '00000000000000b1';
    const sw = await lab.addSwitch('sw', { dpid });
    const net3 = 1 + Math.floor(Math.random() * 250);
    const client = await lab.addHost('cli', {
      sw,
      ofport: 1,
      ip: `10.215.${net3}.10/24`,
      mac: '02:00:00:00:0d:0a',
    });
    const service = await lab.addHost('svc', {
      sw,
      ofport: 2,
      ip: `10.215.${net3}.1/24`,
      mac: '02:00:00:00:0d:01',
    });
    const standby = await lab.addHost('stb', {
      sw,
      ofport: 3,
      ip: `10.215.${net3}.2/24`,
      mac: '02:00:00:00:0d:02',
    });
    // the real controller (core + REST API) in this process
    const controller = await controllerFor(sw);
    const api = join(lab.dir, 'controller-api.sock');
    const rest = await buildApi({ controller, registry: new Registry(), logger: quietLogger() });
    await rest.listen({ path: api });
    stops.push(async () => {
      await rest.close();
      await controller.stop();
    });
    const svc = startPeer(service.ns);
    const stb = startPeer(standby.ns);
    peers.push(svc, stb);
    await svc.call({ op: 'listen', ip: service.ip, port: 80, httpBytes: 2000 });
    await stb.call({ op: 'listen', ip: '0.0.0.0', port: 80, httpBytes: 2000 });
    await stb.call({
      op: 'agent-start',
      controllerUrl: `unix:${api}`,
      dpid,
      servicePort: 2,
      standbyPort: 3,
      serviceIp: service.ip,
      localPort: 80,
    });
    const clients = startClients({ client, service }, { connections: n, intervalMs: interval });
    await clients.ready;
    await sleep(Number(values['warmup-ms']));
    // the service node dies: link first, then the process (silently: its sockets in repair mode)
    await service.exec('ip', ['link', 'set', service.ifname, 'down']);
    clients.mark();
    const dumpedAt = performance.now();
    const { states } = await svc.call<{ states: unknown[] }>({ op: 'dump-all' });
    await svc.call({ op: 'exit' });
    const { report, joiner } = await stb.call<{ report: FailoverReport; joiner: unknown }>({
      op: 'agent-failover',
      verdicts: states.map((state) => ({ state })),
      elapsedMs: performance.now() - dumpedAt,
      statsAfterMs: Number(values['after-ms']),
    });
    clients.settle();
    console.error(`[bench]   joiner ${JSON.stringify(joiner)}`);
    const retried = report.connections.filter((c) => /lingering/.test(c.reason));
    console.error(
      `[bench]   retried ${retried.length}: ${retried
        .slice(0, 5)
        .map((c) => c.client)
        .join(' ')}`,
    );
    const summary = await clients.stop();
    const stalls = summary.connections
      .filter((c) => c.responses > 0)
      .map((c) => Math.max(0, stallOf(c)))
      .sort((a, b) => a - b);
    const preserved = summary.connections.filter((c) => isPreserved(c, summary.durationMs)).length;
    const lost = summary.connections.filter(
      (c) =>
        !(
          c.localPorts.length === 1 &&
          c.errors.length === 0 &&
          c.closes === 0 &&
          c.badResponses.length === 0
        ),
    );
    if (lost.length) console.error(`[bench]   not preserved: ${JSON.stringify(lost.slice(0, 5))}`);
    return {
      mode: 'mechanics',
      connections: n,
      preserved,
      p50: pct(stalls, 50),
      p99: pct(stalls, 99),
      max: stalls[stalls.length - 1] ?? Number.NaN,
      laterP99: pct(laterStalls(summary.connections), 99),
      restoresPerSec: report.summary.restoreRatePerSec,
      takeoverMs: report.takeoverMs,
      steps: report.steps.map((x) => `${x.name}=${x.durationMs}`).join(' '),
      outcome: `${report.outcome} (restored ${report.summary.restored}/${states.length})`,
    };
  } finally {
    for (const p of peers) p.kill();
    for (const stop of stops) await stop().catch(() => {});
    await lab.destroy();
    process.off('exit', cleanup);
  }
}

const rows: Row[] = [];
for (const n of values.connections.split(',').map(Number)) {
  for (const mode of values.modes.split(',') as Array<'restore' | 'baseline' | 'mechanics'>) {
    console.error(`[bench] ${mode} with ${n} connections...`);
    const row = mode === 'mechanics' ? await runMechanics(n) : await runOnce(mode, n);
    rows.push(row);
    console.error(`[bench]   ${JSON.stringify(row)}`);
  }
}
const f = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : String(Math.round(x)));
console.log(
  `\nfailover bench: keep-alive HTTP (nginx), a request every ${interval} ms per connection, service node killed`,
);
console.log(
  'mode      conns  preserved  stall p50  p99   max (ms)  later p99  takeover ms  restores/s  outcome',
);
for (const r of rows) {
  console.log(
    `${r.mode.padEnd(9)} ${String(r.connections).padStart(5)}  ${String(r.preserved).padStart(9)}  ${f(r.p50).padStart(9)}  ${f(r.p99).padStart(4)}  ${f(r.max).padStart(8)}  ${f(r.laterP99).padStart(9)}  ${f(r.takeoverMs).padStart(11)}  ${f(r.restoresPerSec).padStart(10)}  ${r.outcome}`,
  );
}
for (const r of rows) console.log(`  ${r.mode} ${r.connections}: ${r.steps}`);
process.exit(0);
