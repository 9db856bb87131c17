// nonstop-agent's command: the standby agent. Live: capture the mirror, track, serve the API,
// and (with --controller) watch the service and fail over. Offline (--read): print a pcap's
// connections. Started by cli.ts, which sets V8 up first.
import { existsSync, unlinkSync } from 'node:fs';
import { isIP } from 'node:net';
import { setPriority } from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { formatListen, parseListen } from '../controller/api/listen.js';
import { untilSignal } from '../controller/api/until-signal.js';
import { Agent } from './agent.js';
import type { Protocol } from './analyzers/types.js';
import { buildAgentApi } from './api/server.js';
import { failoverFlags, failoverHelp } from './failover/options.js';
import { wireFailover } from './failover/wire.js';
import type { ServiceSpec } from './tracking/connection-table.js';
import type { ConnectionSummary } from './tracking/describe.js';

const USAGE = `Usage: nonstop-agent (--iface DEV | --read FILE.pcap) --service IP:PORT [options]

The Nonstop standby agent: tracks every TCP connection of the service from the mirror.

Options:
  --iface DEV                  live capture on the mirror interface
  --read FILE.pcap             offline: process the file, print the connection table, exit
  --json                       with --read: machine-readable output
  --service IP:PORT            a watched service (repeatable; PORT 0 = every port)
  --protocol PORT=PROTO        analyzer override: http|oncrpc|smb2|generic (repeatable)
  --max-connections N          table cap (default 200000)
  --capture-buffer MIB        kernel capture ring (default 128)
  --nice N                     scheduling priority of the capture thread, -20..19 (default -10:
                               on a busy node the mirror must not fall behind the traffic it protects)
  --api-listen HOST:PORT|unix:PATH   REST API (default 127.0.0.1:8081)
  --token TOKEN                bearer token for mutating calls (or env NONSTOP_API_TOKEN)
  --log-level LEVEL            default info
  -h, --help                   this text

${failoverHelp}
`;

class UsageError extends Error {}

const PROTOCOLS: Protocol[] = ['http', 'oncrpc', 'smb2', 'generic'];

export function parseService(text: string): ServiceSpec {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d+)$/.exec(text);
  const ip = m ? (m[1] ?? m[2]) : '';
  const port = m ? Number(m[3]) : -1;
  if (!m || !isIP(ip) || port < 0 || port > 65535)
    throw new UsageError(`--service: expected IP:PORT, got "${text}"`);
  return { ip, port };
}

function parseProtocols(list: string[]): Record<number, Protocol> {
  const out: Record<number, Protocol> = {};
  for (const item of list) {
    const m = /^(\d+)=(\w+)$/.exec(item);
    if (!m || !PROTOCOLS.includes(m[2] as Protocol) || Number(m[1]) > 65535) {
      throw new UsageError(`--protocol: expected PORT=${PROTOCOLS.join('|')}, got "${item}"`);
    }
    out[Number(m[1])] = m[2] as Protocol;
  }
  return out;
}

function table(rows: ConnectionSummary[]): string {
  const head = ['CLIENT', 'SERVICE', 'STATE', 'PROTO', 'EXCH', 'VERDICT'];
  const body = rows.map((r) => [
    r.client,
    r.service,
    r.state,
    r.protocol,
    String(r.exchanges),
    r.restorable ? 'restorable' : `not restorable: ${r.reason}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** how long, after the failover's last view, the capture stays open for late client segments */
const LATE_FRAMES_MS = 2000;

export async function main(): Promise<number> {
  let values: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        iface: { type: 'string' },
        read: { type: 'string' },
        json: { type: 'boolean', default: false },
        service: { type: 'string', multiple: true, default: [] },
        protocol: { type: 'string', multiple: true, default: [] },
        'max-connections': { type: 'string' },
        nice: { type: 'string', default: '-10' },
        'capture-buffer': { type: 'string', default: '128' },
        'api-listen': { type: 'string', default: '127.0.0.1:8081' },
        token: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
        ...failoverFlags,
      },
    }).values;
  }
  let services: ServiceSpec[];
  let protocols: Record<number, Protocol>;
  let maxConnections: number | undefined;
  try {
    values = parse();
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.service.length === 0) throw new UsageError('--service IP:PORT is required');
    services = values.service.map(parseService);
    protocols = parseProtocols(values.protocol);
    if (!values.iface === !values.read) throw new UsageError('give exactly one of --iface and --read');
    if (values.read && !existsSync(values.read)) throw new UsageError(`--read: no such file: ${values.read}`);
    const ring = Number(values['capture-buffer']);
    if (!Number.isInteger(ring) || ring < 1 || ring > 4096)
      throw new UsageError('--capture-buffer: MiB, 1..4096');
    const nice = Number(values.nice);
    if (!Number.isInteger(nice) || nice < -20 || nice > 19)
      throw new UsageError('--nice: an integer -20..19');
    if (values['max-connections'] !== undefined) {
      maxConnections = Number(values['max-connections']);
      if (!Number.isInteger(maxConnections) || maxConnections < 1)
        throw new UsageError('--max-connections: a positive integer');
    }
    parseListen(values['api-listen'], '--api-listen');
  } catch (e) {
    process.stderr.write(`nonstop-agent: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }

  if (values.read) {
    let last = 0;
    const agent = new Agent({ services, protocols, maxConnections }, (tsMs) => {
      last = tsMs;
      return tsMs;
    });
    try {
      agent.readPcap(values.read);
    } catch (e) {
      process.stderr.write(`nonstop-agent: ${values.read}: ${(e as Error).message}\n`);
      return 1;
    }
    const rows = agent.connections(last);
    if (values.json)
      process.stdout.write(`${JSON.stringify({ status: agent.status(), connections: rows }, null, 2)}\n`);
    else {
      const s = agent.status();
      process.stdout.write(`${table(rows)}\n\n${s.frames} frames, ${rows.length} connections tracked\n`);
    }
    return 0;
  }

  const logger = pino({ level: values['log-level'], name: 'nonstop-agent' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const token = values.token ?? (process.env.NONSTOP_API_TOKEN || undefined);
  const agent = new Agent({ services, protocols, maxConnections, registry });
  try {
    // The JS thread runs capture and tracking; a starved agent drops mirror frames, and a gap
    // in a connection's bytes makes it unrestorable. Linux's nice is per thread, and a thread
    // starts with its creator's: set before the failover role starts the relay thread, which
    // carries every resumed connection's bytes, so that thread gets it too.
    setPriority(Number(values.nice));
  } catch (e) {
    logger.warn({ err: (e as Error).message, nice: values.nice }, 'cannot change the capture priority');
  }
  let failover: Awaited<ReturnType<typeof wireFailover>>;
  const app = await buildAgentApi({
    agent,
    registry,
    token,
    logger: logger.child({ part: 'api' }),
    statusExtra: () => (failover ? { role: failover.status().state, failover: failover.status() } : {}),
  });
  try {
    failover = await wireFailover({
      values,
      services: values.service,
      token,
      tracker: agent.table,
      app,
      // once active, the standby's own traffic is not worth tracking: free the thread to serve
      // (client segments the mirror still brings go to the restored sockets: capture/late-frames.ts)
      onTrackerDone: () =>
        agent.stopSoon('the failover took its last view', LATE_FRAMES_MS, {
          passOnLate: true,
          onStopped: (late) => {
            if (late && late.passed + late.failed > 0)
              logger.info(
                { part: 'failover', lateClientFrames: late },
                `${late.passed} client segments came by the switch's old flows after the failover's last view: handed to the local stack${late.failed ? ` (${late.failed} could not be: ${late.lastError})` : ''}`,
              );
          },
        }),
      drainCapture: (quietSince) => agent.captureBarrier(undefined, quietSince),
      logger: logger.child({ part: 'failover' }),
    });
  } catch (e) {
    process.stderr.write(`nonstop-agent: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  // before the capture's warm-up: see prepareRestore
  failover?.prepareRestore();
  // a standby captures the mirror, not its own traffic (once it serves, its own is the service's)
  const warm = agent.startCapture(values.iface as string, Number(values['capture-buffer']) * 1024 * 1024, {
    skipOwnFrames: failover !== undefined,
  });
  logger.info({ packets: warm.packets, ms: Math.round(warm.ms) }, 'per-packet path warmed up');
  const listen = parseListen(values['api-listen'], '--api-listen');
  if ('path' in listen && existsSync(listen.path)) unlinkSync(listen.path);
  await app.listen('path' in listen ? { path: listen.path } : listen);
  await failover?.start();
  logger.info(
    { iface: values.iface, services: values.service, api: formatListen(listen), failover: Boolean(failover) },
    'agent ready',
  );

  return untilSignal(async () => {
    await failover?.stop?.();
    agent.stop();
    await app.close();
  }, logger);
}
