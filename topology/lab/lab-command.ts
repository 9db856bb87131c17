// `nonstop lab ...` subcommands (text and --json output).
import { addressOf, loadTopology } from '../index.js';
import { renderTable } from '../ops/table.js';
import { UsageError } from '../ops/commands.js';
import { formatFailoverReport, type FailoverReportLike } from '../ops/commands.js';
import {
  failServiceNode,
  labClients,
  labDown,
  labExec,
  labStatus,
  labUp,
  readLabState,
  resolveLabName,
} from './runner.js';

export const LAB_HELP = `usage: nonstop lab SUBCOMMAND [TOPOLOGY|NAME] ...

  up [TOPOLOGY]            build the topology (default ha-basic; a shipped name or a .json path):
                           private OVS, host namespaces, management link, nginx, controller, agent.
                           Idempotent: an intact lab is left running. --no-controller, --no-agent
  down [NAME]              stop and remove everything of the lab, also leftovers of a crashed run
  status [NAME]            namespaces, processes, controller/agent reachability
  exec [NAME] HOST CMD...  run CMD inside HOST's namespace (NAME defaults to ha-basic)
  failover [NAME] [HOST]   fail the service node (interface down, nginx killed; --no-kill skips it)
                           and ask the agent to take over; prints the report

options: --state-dir DIR (default $NONSTOP_LAB_STATE_DIR or /run/nonstop-lab), --json, -q/--quiet
Then use the ops CLI against the lab: nonstop --lab ha-basic switches
`;

type Values = Record<string, string | boolean | undefined>;

export async function labCommand(
  args: string[],
  passthrough: string[],
  values: Values,
  out: (s: string) => void,
): Promise<number> {
  const [sub, ...rest] = args;
  const stateRoot = typeof values['state-dir'] === 'string' ? values['state-dir'] : undefined;
  const json = values.json === true;
  if (values.help || !sub) {
    out(LAB_HELP);
    return sub || values.help ? 0 : 2;
  }
  switch (sub) {
    case 'up': {
      const topology = rest[0] ?? 'ha-basic';
      const { state, alreadyUp } = await labUp({
        topology,
        stateRoot,
        controller: values['no-controller'] !== true,
        agent: values['no-agent'] !== true,
        log: json || values.quiet ? undefined : (l) => out(`  ${l}`),
      });
      if (json) out(JSON.stringify({ alreadyUp, ...state, token: undefined }, null, 2));
      else {
        out(
          `lab ${state.name} ${alreadyUp ? 'is already up' : 'is up'} (prefix ${state.prefix}, state ${state.stateDir})`,
        );
        for (const n of state.notes) out(`  note: ${n}`);
        const topo = loadTopology(state.topologyPath);
        const client = topo.hosts.find((h) => h.role === 'client');
        const service = topo.hosts.find((h) => h.role === 'service');
        if (client && service) {
          out(
            `  try: nonstop lab exec ${state.name} ${client.name} curl -s http://${addressOf(service)}/who`,
          );
        }
        out(
          `       nonstop --lab ${state.name} switches; nonstop lab failover ${state.name}; nonstop lab down ${state.name}`,
        );
      }
      return 0;
    }
    case 'down': {
      const name = resolveLabName(rest[0]);
      const r = await labDown(name, { stateRoot });
      if (json) out(JSON.stringify({ name, ...r }, null, 2));
      else if (!r.found) out(`lab ${name} is not up (nothing recorded)`);
      else {
        out(
          `lab ${name} is down: removed ${r.removed.namespaces} namespaces, ${r.removed.links} root links, ` +
            `stopped ${r.removed.processes} processes`,
        );
      }
      return 0;
    }
    case 'status': {
      const name = resolveLabName(rest[0]);
      const s = await labStatus(name, { stateRoot });
      if (json) {
        out(JSON.stringify({ ...s, state: s.state ? { ...s.state, token: undefined } : undefined }, null, 2));
        return s.up ? 0 : 1;
      }
      if (!s.state) {
        out(`lab ${name}: not up`);
        return 1;
      }
      out(`lab ${name}: ${s.up ? 'UP' : 'DEGRADED'} (prefix ${s.state.prefix}, state ${s.state.stateDir})`);
      out(
        renderTable(
          ['host', 'namespace', 'present'],
          s.namespaces.map((n) => [n.name, n.ns, n.present ? 'yes' : 'NO']),
        ),
      );
      if (s.processes.length) {
        out('');
        out(
          renderTable(
            ['process', 'host', 'pid', 'alive', 'log'],
            s.processes.map((p) => [p.role, p.host, p.pid, p.alive ? 'yes' : 'NO', p.log]),
          ),
        );
      }
      if (s.controller)
        out(
          `\ncontroller ${s.state.controllerUrl}: ${s.controller.reachable ? 'reachable' : `UNREACHABLE (${s.controller.detail})`}`,
        );
      if (s.agent)
        out(
          `agent ${s.state.agentUrl}: ${s.agent.reachable ? 'reachable' : `UNREACHABLE (${s.agent.detail})`}`,
        );
      for (const n of s.state.notes) out(`note: ${n}`);
      return s.up ? 0 : 1;
    }
    case 'exec': {
      // exec [NAME] HOST CMD...: NAME is optional when it is not a lab's name
      const [name, host] = rest.length >= 2 ? rest : ['ha-basic', rest[0]];
      if (!host) throw new UsageError('usage: nonstop lab exec [NAME] HOST CMD [ARGS...]');
      return labExec(name, host, passthrough, { stateRoot });
    }
    case 'failover': {
      const name = resolveLabName(rest[0]);
      const state = readLabState(name, stateRoot);
      if (!state) throw new UsageError(`lab ${name} is not up`);
      const { agent } = labClients(state);
      if (!agent) throw new Error(`lab ${name} has no agent endpoint`);
      const host =
        rest[1] ??
        Object.keys(state.hostNs).find((h) =>
          state.processes.some((p) => p.host === h && p.role === 'nginx'),
        ) ??
        'service';
      if (values['no-kill'] !== true) {
        await failServiceNode(state, host);
        if (!json) out(`service node ${host}: interface down, service killed`);
      }
      try {
        const report = (await agent.post('/v1/failover', {
          force: values.force === true,
        })) as FailoverReportLike;
        out(json ? JSON.stringify(report, null, 2) : formatFailoverReport(report));
        return report.outcome === 'completed' ? 0 : 1;
      } catch (e) {
        const body = (e as { body?: FailoverReportLike }).body;
        // the agent's own liveness check may have failed over first: show that failover
        if (body?.outcome === 'refused') {
          const last = (await agent.get('/v1/failovers/last').catch(() => undefined)) as
            | FailoverReportLike
            | undefined;
          if (last?.outcome === 'completed') {
            out(
              json
                ? JSON.stringify(last, null, 2)
                : `(the agent had already failed over on its own)\n${formatFailoverReport(last)}`,
            );
            return 0;
          }
        }
        if (body && typeof body === 'object' && 'outcome' in body) {
          out(json ? JSON.stringify(body, null, 2) : formatFailoverReport(body));
          return 1;
        }
        throw e;
      }
    }
    default:
      throw new UsageError(`unknown lab subcommand "${sub}"\n${LAB_HELP}`);
  }
}
