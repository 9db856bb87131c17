// `nonstop demo`: ha-basic on real OVS, HTTP keep-alive clients, the service node dies, the
// standby takes over; a live progress line while it runs, then who served each request, the
// stall per connection and the restored/reset counts. Exit 0 only if every restorable
// connection survived. Nothing is faked: a missing component makes the report say so and fail.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type ClientEvent, formatDemoSummary, summarizeDemo } from './demo-report.js';
import { addressOf, findHost, hostsByRole, loadTopology } from './index.js';
import { sleep } from './lab/exec.js';
import {
  entryCommand,
  failServiceNode,
  labClients,
  labDown,
  labUp,
  repoRoot,
  stateRoot,
} from './lab/runner.js';
import { type FailoverReportLike, formatFailoverReport } from './ops/commands.js';

export const DEMO_HELP = `usage: nonstop demo [--connections N] [--before-ms MS] [--after-ms MS] [--keep] [--json]

Builds the ha-basic topology on a private Open vSwitch (network namespaces, no VMs), starts
HTTP/1.1 keep-alive clients against the service node's nginx, kills the service node
(interface down, nginx killed), asks the standby agent to take over and reports, per
connection, who served each request, the longest stall, and whether it survived.
Exit code 0 only if every connection the agent could restore kept working.

  --connections N   keep-alive connections per client (default 2)
  --before-ms MS    traffic before the failure (default 2000)
  --after-ms MS     traffic after the failure (default 4000)
  --interval-ms MS  pause between requests on a connection (default 50)
  --keep            leave the lab running afterwards (nonstop lab status|down ha-basic --state-dir ...)
  --state-dir DIR   lab state root (default: <lab state root>/demo)
`;

type Values = Record<string, string | boolean | undefined>;

function num(v: string | boolean | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new Error(`${what} must be a non-negative integer`);
  return Number(v);
}

export async function runDemo(values: Values): Promise<number> {
  const perClient = num(values.connections, 2, '--connections');
  const beforeMs = num(values['before-ms'], 2000, '--before-ms');
  const afterMs = num(values['after-ms'], 4000, '--after-ms');
  const intervalMs = num(values['interval-ms'], 50, '--interval-ms');
  const json = values.json === true;
  const root = typeof values['state-dir'] === 'string' ? values['state-dir'] : join(stateRoot(), 'demo');
  const say = (s: string) => {
    if (!json) process.stdout.write(`${s}\n`);
  };
  const tty = process.stderr.isTTY && !json;

  const topo = loadTopology('ha-basic');
  const service = hostsByRole(topo, 'service')[0];
  const serviceIp = addressOf(service);
  const svcPort = service.services[0]?.port ?? 80;
  const clients: ChildProcess[] = [];
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    for (const c of clients) c.kill('SIGKILL');
    void labDown(topo.name, { stateRoot: root }).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    say("Nonstop demo: a TCP connection survives its server's death\n");
    say(`1. building ${topo.name}: ${topo.hosts.map((h) => `${h.name} (${h.role}) ${h.ip}`).join(', ')}`);
    await labDown(topo.name, { stateRoot: root });
    const { state } = await labUp({
      topology: 'ha-basic',
      stateRoot: root,
      log: json ? undefined : (l) => say(`   ${l}`),
    });
    const missing = state.notes.slice();
    const { agent } = labClients(state);
    const hasAgent = state.processes.some((p) => p.role === 'agent');

    // 2. clients
    const clientCmd = entryCommand('topology/demo-client');
    if (!clientCmd) throw new Error('topology/demo-client is missing (neither source nor dist/)');
    const events: ClientEvent[] = [];
    const exits: Promise<void>[] = [];
    for (const h of hostsByRole(topo, 'client')) {
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          state.hostNs[h.name],
          clientCmd.cmd,
          ...clientCmd.args,
          '--target',
          `${serviceIp}:${svcPort}`,
          '--connections',
          String(perClient),
          '--interval-ms',
          String(intervalMs),
          '--name',
          h.name,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot() },
      );
      clients.push(child);
      exits.push(new Promise((r) => child.once('exit', () => r())));
      createInterface({ input: child.stdout! }).on('line', (l) => {
        try {
          events.push(JSON.parse(l) as ClientEvent);
        } catch {
          // not an event line
        }
      });
    }
    const nConns = perClient * clients.length;
    say(
      `2. ${clients.length} clients, ${nConns} HTTP/1.1 keep-alive connections to ${serviceIp}:${svcPort}, GET /who every ${intervalMs} ms`,
    );

    const start = Date.now();
    let phase = 'connecting';
    let lastPrint = 0;
    const progress = () => {
      const replies = events.filter((e) => e.ev === 'reply');
      const by: Record<string, number> = {};
      for (const r of replies) by[r.servedBy ?? '?'] = (by[r.servedBy ?? '?'] ?? 0) + 1;
      const open = new Set(events.filter((e) => e.ev === 'open').map((e) => `${e.client}#${e.conn}`));
      for (const e of events) if (e.ev !== 'open' && e.ev !== 'reply') open.delete(`${e.client}#${e.conn}`);
      const line =
        `   ${((Date.now() - start) / 1000).toFixed(1).padStart(5)}s  ${phase.padEnd(12)} requests ${String(replies.length).padStart(6)}  ` +
        `open ${open.size}/${nConns}  served by ${
          Object.entries(by)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '-'
        }`;
      if (tty) process.stderr.write(`\r${line}\x1b[K`);
      else if (!json && Date.now() - lastPrint >= 1000) {
        lastPrint = Date.now();
        process.stdout.write(`${line}\n`);
      }
    };
    const ticker = setInterval(progress, 200);
    const wait = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until && !interrupted) await sleep(Math.min(100, until - Date.now()));
    };
    // every connection answered once before the clock starts (node startup is slow on a busy machine)
    const warmDeadline = Date.now() + 60_000;
    const answered = () =>
      new Set(events.filter((e) => e.ev === 'reply').map((e) => `${e.client}#${e.conn}`)).size;
    while (answered() < nConns && Date.now() < warmDeadline && !interrupted) {
      if (events.some((e) => e.ev !== 'open' && e.ev !== 'reply')) break;
      await sleep(50);
    }
    if (answered() < nConns) {
      clearInterval(ticker);
      throw new Error(
        `only ${answered()}/${nConns} client connections got an answer from the service before the failure; ` +
          `client events: ${JSON.stringify(events.filter((e) => e.ev !== 'reply').slice(0, 6))}`,
      );
    }
    phase = 'traffic';
    await wait(beforeMs);

    // 3. the service node dies
    phase = 'failing';
    await failServiceNode(state, service.name);
    const failAt = Date.now();
    let report: FailoverReportLike | undefined;
    let failoverError: string | undefined;
    if (agent && hasAgent) {
      phase = 'failover';
      try {
        report = (await agent.post('/v1/failover', {})) as FailoverReportLike;
      } catch (e) {
        const body = (e as { body?: FailoverReportLike }).body;
        if (body && typeof body === 'object' && 'outcome' in body) report = body;
        failoverError = (e as Error).message;
        // the agent's own liveness check may have failed over first
        if (!report || report.outcome === 'refused') {
          report = (await agent.get('/v1/failovers/last').catch(() => report)) as
            | FailoverReportLike
            | undefined;
        }
      }
    } else {
      failoverError = 'no standby agent running, so no failover';
    }
    phase = 'after';
    await wait(afterMs);
    clearInterval(ticker);
    progress();
    if (tty) process.stderr.write('\n');
    for (const c of clients) c.kill('SIGTERM');
    await Promise.race([Promise.all(exits), sleep(3000)]);
    for (const c of clients) c.kill('SIGKILL');

    const summary = summarizeDemo(events, failAt, report, serviceIp, Date.now());
    if (failoverError && !report) summary.problems.unshift(failoverError);
    for (const m of missing) summary.problems.push(`missing: ${m}`);
    if (summary.problems.length) summary.ok = false;

    if (json) {
      process.stdout.write(
        `${JSON.stringify({ prefix: state.prefix, failAt, ...summary, missing }, null, 2)}\n`,
      );
    } else {
      say(
        `3. at +${((failAt - start) / 1000).toFixed(1)}s: service node "${service.name}" killed (interface down, nginx SIGKILL)`,
      );
      if (report) {
        say('4. the standby took over:');
        say(
          formatFailoverReport(report)
            .split('\n')
            .map((l) => `   ${l}`)
            .join('\n'),
        );
      } else say(`4. no failover: ${failoverError ?? 'unknown reason'}`);
      say('\n5. what the clients saw:');
      say(
        formatDemoSummary(summary)
          .split('\n')
          .map((l) => `   ${l}`)
          .join('\n'),
      );
    }
    const standby = findHost(topo, 'standby');
    if (values.keep)
      say(
        `\nlab kept running: nonstop lab status ha-basic --state-dir ${root}; try: nonstop lab exec ha-basic --state-dir ${root} client1 curl -s http://${serviceIp}/who (standby ${standby.ip})`,
      );
    return summary.ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    for (const c of clients) c.kill('SIGKILL');
    if (!values.keep) await labDown(topo.name, { stateRoot: root });
  }
}
