// The ops CLI's REST commands: each takes parsed positionals/options and the API clients and
// returns both JSON (for --json) and readable text. No I/O besides the API calls.
import type { ApiClient } from './api-client.js';
import { renderTable } from './table.js';

export interface CommandContext {
  positionals: string[];
  options: Record<string, string | boolean | undefined>;
  controller: ApiClient;
  agent: ApiClient;
}

export interface CommandResult {
  json: unknown;
  text: string;
}

export interface OpsCommand {
  name: string;
  usage: string;
  summary: string;
  run(ctx: CommandContext): Promise<CommandResult>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function dpidArg(v: string | undefined, usage: string): string {
  if (!v) throw new UsageError(`missing DPID\nusage: ${usage}`);
  const hex = v.replace(/^0x/i, '').replace(/:/g, '');
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw new UsageError(`bad datapath id "${v}": up to 16 hex digits`);
  return hex.toLowerCase().padStart(16, '0');
}

function intArg(v: string | boolean | undefined, what: string, min: number, max: number): number {
  if (typeof v !== 'string' || !/^\d+$/.test(v))
    throw new UsageError(`${what} must be an integer${v === undefined ? ' (missing)' : `, got "${v}"`}`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`${what} must be ${min}-${max}, got ${n}`);
  return n;
}

function ipArg(v: string | boolean | undefined, what: string): string {
  if (typeof v !== 'string' || !(/^\d{1,3}(\.\d{1,3}){3}$/.test(v) || v.includes(':'))) {
    throw new UsageError(`${what} must be an IP address${v === undefined ? ' (missing)' : `, got "${v}"`}`);
  }
  return v;
}

type Row = Record<string, unknown>;

function arrayIn(body: unknown, key: string): Row[] {
  if (Array.isArray(body)) return body as Row[];
  if (body && typeof body === 'object' && Array.isArray((body as Row)[key]))
    return (body as Row)[key] as Row[];
  return [];
}

const scalar = (v: unknown): string =>
  v === undefined || v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** A table of whatever scalar fields the rows have (the agent's shapes may grow). */
function genericTable(rows: Row[], preferred: string[], maxCols = 9): string {
  if (!rows.length) return '(none)';
  const keys: string[] = preferred.filter((k) => rows.some((r) => r[k] !== undefined));
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      if (keys.length >= maxCols) break;
      if (!keys.includes(k) && (v === null || typeof v !== 'object')) keys.push(k);
    }
  }
  return renderTable(
    keys,
    rows.map((r) => keys.map((k) => scalar(r[k]))),
  );
}

function kv(obj: unknown, indent = ''): string {
  if (!obj || typeof obj !== 'object') return `${indent}${scalar(obj)}`;
  const lines: string[] = [];
  for (const [k, v] of Object.entries(obj as Row)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) lines.push(`${indent}${k}:`, kv(v, `${indent}  `));
    else if (Array.isArray(v))
      lines.push(`${indent}${k}: ${v.length ? '' : '[]'}`, ...(v.length ? [kv(v, `${indent}  `)] : []));
    else lines.push(`${indent}${k}: ${scalar(v)}`);
  }
  return lines.filter((l) => l !== '').join('\n');
}

export interface FailoverReportLike {
  id?: number;
  outcome?: string;
  error?: string;
  durationMs?: number;
  takeoverMs?: number;
  startedAt?: string;
  trigger?: { kind?: string; reason?: string; forced?: boolean };
  steps?: { name: string; ok: boolean; startMs: number; durationMs: number; detail?: string }[];
  connections?: {
    client: string;
    service: string;
    outcome: string;
    code?: string;
    reason?: string;
    resetSent?: boolean;
  }[];
  summary?: { restored?: number; reset?: number; failed?: number; restoreRatePerSec?: number };
}

export function formatFailoverReport(r: FailoverReportLike): string {
  const out: string[] = [];
  out.push(
    `failover #${r.id ?? '?'}: ${r.outcome ?? '?'}${r.error ? ` (${r.error})` : ''}` +
      `${r.durationMs !== undefined ? `, ${r.durationMs} ms total` : ''}` +
      `${r.takeoverMs !== undefined ? `, traffic at the standby after ${r.takeoverMs} ms` : ''}`,
  );
  if (r.trigger)
    out.push(
      `trigger: ${r.trigger.kind ?? '?'}${r.trigger.forced ? ' (forced)' : ''}: ${r.trigger.reason ?? ''}`,
    );
  if (r.summary) {
    out.push(
      `connections: ${r.summary.restored ?? 0} restored, ${r.summary.reset ?? 0} reset, ${r.summary.failed ?? 0} failed`,
    );
  }
  if (r.steps?.length) {
    out.push(
      '',
      renderTable(
        ['step', 'ok', 'at ms', 'took ms', 'detail'],
        r.steps.map((s) => [s.name, s.ok ? 'yes' : 'NO', s.startMs, s.durationMs, s.detail]),
      ),
    );
  }
  if (r.connections?.length) {
    out.push(
      '',
      renderTable(
        ['client', 'service', 'outcome', 'code', 'reason'],
        r.connections.map((c) => [c.client, c.service, c.outcome, c.code, c.reason]),
      ),
    );
  }
  return out.join('\n');
}

const RESERVED_PORTS: Record<number, string> = {
  4294967288: 'IN_PORT',
  4294967289: 'TABLE',
  4294967290: 'NORMAL',
  4294967291: 'FLOOD',
  4294967292: 'ALL',
  4294967293: 'CONTROLLER',
  4294967294: 'LOCAL',
};

/** OpenFlow port number as operators read it (reserved ports by name). */
export function portName(n: number): string {
  return RESERVED_PORTS[n] ?? String(n);
}

interface SwitchLike {
  dpid: string;
  address?: string;
  connectedAt?: string;
  nTables?: number;
  ports?: {
    portNo: number;
    name: string;
    hwAddr?: string;
    adminDown?: boolean;
    linkDown?: boolean;
    currSpeedKbps?: number;
  }[];
}

export const OPS_COMMANDS: OpsCommand[] = [
  {
    name: 'health',
    usage: 'nonstop health',
    summary: 'controller and agent health',
    async run({ controller, agent }) {
      const settle = async (c: ApiClient, path: string) => {
        try {
          return { ok: true, body: await c.get(path) };
        } catch (e) {
          return { ok: false, error: (e as Error).message };
        }
      };
      const json = {
        controller: await settle(controller, '/health'),
        agent: await settle(agent, '/v1/status'),
      };
      const line = (n: string, r: { ok: boolean; error?: string }) =>
        `${n}: ${r.ok ? 'up' : `DOWN (${r.error})`}`;
      return { json, text: [line('controller', json.controller), line('agent', json.agent)].join('\n') };
    },
  },
  {
    name: 'switches',
    usage: 'nonstop switches',
    summary: 'connected switches',
    async run({ controller }) {
      const body = await controller.get('/v1/switches');
      const sws = arrayIn(body, 'switches') as unknown as SwitchLike[];
      const text = sws.length
        ? renderTable(
            ['dpid', 'address', 'connected at', 'tables', 'ports'],
            sws.map((s) => [s.dpid, s.address, s.connectedAt, s.nTables, s.ports?.length]),
          )
        : '(no switch connected)';
      return { json: body, text };
    },
  },
  {
    name: 'ports',
    usage: 'nonstop ports DPID',
    summary: "a switch's ports with their state",
    async run({ controller, positionals }) {
      const dpid = dpidArg(positionals[0], this.usage);
      const body = (await controller.get(`/v1/switches/${dpid}`)) as SwitchLike;
      const ports = body.ports ?? [];
      const text = renderTable(
        ['port', 'name', 'mac', 'admin', 'link', 'speed kbps'],
        ports.map((p) => [
          portName(p.portNo),
          p.name,
          p.hwAddr,
          p.adminDown ? 'down' : 'up',
          p.linkDown ? 'down' : 'up',
          p.currSpeedKbps,
        ]),
      );
      return { json: body, text: `switch ${dpid}\n${text}` };
    },
  },
  {
    name: 'flows',
    usage: 'nonstop flows DPID',
    summary: "a switch's flow table",
    async run({ controller, positionals }) {
      const dpid = dpidArg(positionals[0], this.usage);
      const body = await controller.get(`/v1/switches/${dpid}/flows`);
      const flows = arrayIn(body, 'flows') as {
        tableId?: number;
        priority?: number;
        cookie?: string;
        packetCount?: string;
        match?: Record<string, string>;
        actions?: string[];
      }[];
      const text = flows.length
        ? renderTable(
            ['table', 'prio', 'cookie', 'packets', 'match', 'actions'],
            flows.map((f) => [
              f.tableId,
              f.priority,
              f.cookie,
              f.packetCount,
              Object.entries(f.match ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(',') || '*',
              (f.actions ?? []).join(',') || 'drop',
            ]),
          )
        : '(no flows)';
      return { json: body, text };
    },
  },
  {
    name: 'mirrors',
    usage: 'nonstop mirrors [list | add DPID SOURCE_PORT TARGET_PORT | rm ID]',
    summary: 'list, add or remove port mirrors',
    async run({ controller, positionals }) {
      const sub = positionals[0] ?? 'list';
      if (sub === 'list' || sub === 'ls') {
        const body = await controller.get('/v1/mirrors');
        const rows = arrayIn(body, 'mirrors');
        const text = rows.length
          ? renderTable(
              ['id', 'dpid', 'source port', 'target port', 'created'],
              rows.map((m) => [
                scalar(m.id),
                scalar(m.dpid),
                scalar(m.sourcePort),
                scalar(m.targetPort),
                scalar(m.createdAt),
              ]),
            )
          : '(no mirrors)';
        return { json: body, text };
      }
      if (sub === 'add') {
        const dpid = dpidArg(positionals[1], this.usage);
        const sourcePort = intArg(positionals[2], 'SOURCE_PORT', 1, 0xfffffeff);
        const targetPort = intArg(positionals[3], 'TARGET_PORT', 1, 0xfffffeff);
        const body = (await controller.post('/v1/mirrors', { dpid, sourcePort, targetPort })) as Row;
        return {
          json: body,
          text: `mirror ${scalar(body?.id)}: ${dpid} port ${sourcePort} -> port ${targetPort}`,
        };
      }
      if (sub === 'rm' || sub === 'remove' || sub === 'delete') {
        const id = positionals[1];
        if (!id) throw new UsageError(`missing mirror ID\nusage: ${this.usage}`);
        const body = await controller.delete(`/v1/mirrors/${encodeURIComponent(id)}`);
        return { json: body ?? { deleted: id }, text: `mirror ${id} removed` };
      }
      throw new UsageError(`unknown mirrors subcommand "${sub}"\nusage: ${this.usage}`);
    },
  },
  {
    name: 'port',
    usage: 'nonstop port down|up|bounce DPID PORT [--duration-ms N]',
    summary: 'take a switch port down, up, or bounce it for N ms',
    async run({ controller, positionals, options }) {
      const state = positionals[0];
      if (state !== 'down' && state !== 'up' && state !== 'bounce') {
        throw new UsageError(
          `port state must be down, up or bounce${state ? `, got "${state}"` : ''}\nusage: ${this.usage}`,
        );
      }
      const dpid = dpidArg(positionals[1], this.usage);
      const port = intArg(positionals[2], 'PORT', 1, 0xfffffeff);
      const body: Row = { state };
      if (options['duration-ms'] !== undefined)
        body.durationMs = intArg(options['duration-ms'], '--duration-ms', 1, 3_600_000);
      const res = await controller.post(`/v1/switches/${dpid}/ports/${port}/state`, body);
      return {
        json: res ?? body,
        text: `port ${port} of ${dpid}: ${state}${body.durationMs ? ` for ${body.durationMs} ms` : ''}`,
      };
    },
  },
  {
    name: 'tcp-reset',
    usage: 'nonstop tcp-reset DPID --src-ip IP --src-port P --dst-ip IP --dst-port P --seq N [--out-port P]',
    summary: 'inject a TCP RST to dst, appearing to come from src',
    async run({ controller, positionals, options }) {
      const dpid = dpidArg(positionals[0], this.usage);
      const body: Row = {
        srcIp: ipArg(options['src-ip'], '--src-ip'),
        srcPort: intArg(options['src-port'], '--src-port', 1, 65535),
        dstIp: ipArg(options['dst-ip'], '--dst-ip'),
        dstPort: intArg(options['dst-port'], '--dst-port', 1, 65535),
        seq: intArg(options.seq, '--seq', 0, 0xffffffff),
      };
      if (options['out-port'] !== undefined)
        body.outPort = intArg(options['out-port'], '--out-port', 1, 0xfffffeff);
      const res = (await controller.post(`/v1/switches/${dpid}/tcp-reset`, body)) as Row;
      return {
        json: res,
        text: `RST sent to ${body.dstIp}:${body.dstPort} (from ${body.srcIp}:${body.srcPort}, seq ${body.seq}) out of port ${scalar(res?.outPort)}`,
      };
    },
  },
  {
    name: 'redirects',
    usage: 'nonstop redirects [list | add DPID IP FROM_PORT TO_PORT TO_MAC | rm ID]',
    summary: 'list, add or remove service traffic redirects',
    async run({ controller, positionals }) {
      const sub = positionals[0] ?? 'list';
      if (sub === 'list' || sub === 'ls') {
        const body = await controller.get('/v1/redirects');
        return {
          json: body,
          text: genericTable(arrayIn(body, 'redirects'), ['id', 'dpid', 'ip', 'fromPort', 'toPort', 'toMac']),
        };
      }
      if (sub === 'add') {
        const dpid = dpidArg(positionals[1], this.usage);
        const ip = ipArg(positionals[2], 'IP');
        const fromPort = intArg(positionals[3], 'FROM_PORT', 1, 0xfffffeff);
        const toPort = intArg(positionals[4], 'TO_PORT', 1, 0xfffffeff);
        const toMac = positionals[5];
        if (!toMac || !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(toMac))
          throw new UsageError(`TO_MAC must be a MAC address\nusage: ${this.usage}`);
        const body = (await controller.post('/v1/redirects', { dpid, ip, fromPort, toPort, toMac })) as Row;
        return {
          json: body,
          text: `redirect ${scalar(body?.id)}: ${ip} from port ${fromPort} to port ${toPort} (${toMac})`,
        };
      }
      if (sub === 'rm' || sub === 'remove' || sub === 'delete') {
        const id = positionals[1];
        if (!id) throw new UsageError(`missing redirect ID\nusage: ${this.usage}`);
        const body = await controller.delete(`/v1/redirects/${encodeURIComponent(id)}`);
        return { json: body ?? { deleted: id }, text: `redirect ${id} removed` };
      }
      throw new UsageError(`unknown redirects subcommand "${sub}"\nusage: ${this.usage}`);
    },
  },
  {
    name: 'agent',
    usage: 'nonstop agent status',
    summary: "the standby agent's status",
    async run({ agent, positionals }) {
      const sub = positionals[0] ?? 'status';
      if (sub !== 'status') throw new UsageError(`unknown agent subcommand "${sub}"\nusage: ${this.usage}`);
      const body = await agent.get('/v1/status');
      return { json: body, text: kv(body) };
    },
  },
  {
    name: 'connections',
    usage: 'nonstop connections',
    summary: 'TCP connections the agent tracks (table)',
    async run({ agent }) {
      const body = await agent.get('/v1/connections');
      const rows = arrayIn(body, 'connections');
      return {
        json: body,
        text: `${rows.length} connection(s)\n${genericTable(rows, ['client', 'server', 'service', 'state', 'protocol', 'restorable', 'verdict', 'reason'])}`,
      };
    },
  },
  {
    name: 'failover',
    usage: 'nonstop failover [--force]',
    summary: 'make the standby take over now; prints the report',
    async run({ agent, options }) {
      try {
        const body = (await agent.post('/v1/failover', {
          force: options.force === true,
        })) as FailoverReportLike;
        return { json: body, text: formatFailoverReport(body) };
      } catch (e) {
        // 409 (refused) and 503 (aborted) still carry a report worth showing
        const err = e as { body?: FailoverReportLike; message: string };
        if (err.body && typeof err.body === 'object' && 'outcome' in err.body) {
          throw Object.assign(new Error(`${err.message}\n${formatFailoverReport(err.body)}`), {
            body: err.body,
          });
        }
        throw e;
      }
    },
  },
  {
    name: 'last-failover',
    usage: 'nonstop last-failover',
    summary: 'the report of the last failover',
    async run({ agent }) {
      const body = (await agent.get('/v1/failovers/last')) as FailoverReportLike;
      return { json: body, text: formatFailoverReport(body) };
    },
  },
];
