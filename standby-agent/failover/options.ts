// The agent's failover flags (merged into nonstop-agent's parseArgs options) and their
// validation into FailoverServiceOptions. Switch ports come from flags or a topology file.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { addressOf, parseTopology, protectionPlans } from '../../topology/format.js';
import { type HeartbeatTarget, parseHeartbeatTarget } from '../liveness/heartbeat.js';
import { LIVENESS_DEFAULTS } from '../liveness/monitor.js';
import { LOCAL_POOL_DEFAULTS, type LocalService, parseHostPort } from './resume.js';

export const failoverFlags = {
  controller: { type: 'string' },
  'controller-token': { type: 'string' },
  dpid: { type: 'string' },
  'service-port': { type: 'string' },
  'standby-port': { type: 'string' },
  'service-ip': { type: 'string' },
  topology: { type: 'string' },
  'standby-name': { type: 'string' },
  'local-service': { type: 'string' },
  'local-pool': { type: 'string' },
  'local-pool-max-age-ms': { type: 'string' },
  heartbeat: { type: 'string' },
  'no-heartbeat': { type: 'boolean' },
  'heartbeat-interval-ms': { type: 'string' },
  'heartbeat-timeout-ms': { type: 'string' },
  'heartbeat-misses': { type: 'string' },
  'no-auto-failover': { type: 'boolean' },
  'no-restore': { type: 'boolean' },
  'no-mirror': { type: 'boolean' },
} as const;

export const failoverHelp = `Failover (all optional; --controller enables it):
  --controller URL            controller REST API: http://HOST:PORT or unix:/path
  --controller-token TOKEN    bearer token for the controller (or env NONSTOP_CONTROLLER_TOKEN)
  --dpid DPID                 switch the service and this standby are on (16 hex digits)
  --service-port N            the service node's switch port
  --standby-port N            this standby's switch port
  --service-ip IP             the address taken over (default: from --service IP:PORT)
  --topology FILE             read dpid, ports and addresses from a topology file instead
  --standby-name NAME         which standby of the topology this agent is (default: the only one)
  --local-service HOST:PORT   this standby's own service instance (restored connections join it)
  --local-pool N|auto         idle connections to it, kept ready for a failover's joins; auto
                              (default): 10% more than the tracked connections, at most ${LOCAL_POOL_DEFAULTS.autoMax}; 0: none
  --local-pool-max-age-ms N   each is replaced before it is this old (default ${LOCAL_POOL_DEFAULTS.maxAgeMs}; keep it
                              below the local service's idle timeout)
  --heartbeat TARGET          HOST:PORT (TCP connect) or http://URL (GET, 2xx/3xx = alive);
                              default: TCP to the service address and port
  --no-heartbeat              port-status events and manual failover only
  --heartbeat-interval-ms N   default ${LIVENESS_DEFAULTS.intervalMs}
  --heartbeat-timeout-ms N    default ${LIVENESS_DEFAULTS.timeoutMs}
  --heartbeat-misses N        consecutive misses that mean dead (default ${LIVENESS_DEFAULTS.misses})
  --no-auto-failover          detect and log only; fail over on POST /v1/failover
  --no-restore                IP takeover only (no TCP_REPAIR): the keepalived-like baseline
  --no-mirror                 do not ask the controller for the mirror (already set up)`;

export interface FailoverFlagValues {
  controller?: string;
  'controller-token'?: string;
  dpid?: string;
  'service-port'?: string;
  'standby-port'?: string;
  'service-ip'?: string;
  topology?: string;
  'standby-name'?: string;
  'local-service'?: string;
  'local-pool'?: string;
  'local-pool-max-age-ms'?: string;
  heartbeat?: string;
  'no-heartbeat'?: boolean;
  'heartbeat-interval-ms'?: string;
  'heartbeat-timeout-ms'?: string;
  'heartbeat-misses'?: string;
  'no-auto-failover'?: boolean;
  'no-restore'?: boolean;
  'no-mirror'?: boolean;
}

export interface FailoverSettings {
  controllerUrl: string;
  controllerToken?: string;
  dpid: string;
  servicePort: number;
  standbyPort: number;
  serviceIp: string;
  localService: LocalService;
  localPool: number | 'auto';
  localPoolMaxAgeMs: number;
  heartbeat: false | { target: HeartbeatTarget; intervalMs: number; timeoutMs: number; misses: number };
  autoFailover: boolean;
  restoreEnabled: boolean;
  mirror: boolean;
}

function positiveInt(name: string, text: string | undefined, dflt?: number, max = 2 ** 31): number {
  if (text === undefined) {
    if (dflt === undefined) throw new Error(`--${name} is required`);
    return dflt;
  }
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Error(`--${name} must be an integer in 1..${max}, got "${text}"`);
  return n;
}

/**
 * Validates the failover flags. `services` are the agent's --service IP:PORT values (the first
 * one is the default address and heartbeat target). Returns undefined when --controller is absent.
 */
export function failoverSettings(
  v: FailoverFlagValues,
  services: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): FailoverSettings | undefined {
  if (!v.controller) {
    const stray = Object.keys(failoverFlags).filter(
      (k) => k !== 'controller' && v[k as keyof FailoverFlagValues] !== undefined,
    );
    if (stray.length) throw new Error(`--${stray[0]} needs --controller`);
    return undefined;
  }
  if (!/^(http:\/\/|unix:\/)/.test(v.controller))
    throw new Error(`--controller must be http://HOST:PORT or unix:/path, got "${v.controller}"`);
  let dpid = v.dpid;
  let servicePort = v['service-port'];
  let standbyPort = v['standby-port'];
  let serviceIp = v['service-ip'];
  if (v.topology) {
    const topo = parseTopology(readFileSync(v.topology, 'utf8'), v.topology);
    const plans = protectionPlans(topo).filter(
      (p) => !v['standby-name'] || p.standby.name === v['standby-name'],
    );
    if (plans.length !== 1) {
      throw new Error(
        `${v.topology}: ${plans.length} standby/service pairs match; pick one with --standby-name`,
      );
    }
    const p = plans[0];
    dpid ??= p.dpid;
    servicePort ??= String(p.servicePort);
    standbyPort ??= String(p.standbyPort);
    serviceIp ??= addressOf(p.service);
  }
  const firstService = services[0] ? parseHostPort(services[0]) : undefined;
  serviceIp ??= firstService?.host;
  if (!serviceIp || !isIP(serviceIp))
    throw new Error('--service-ip (or --service IP:PORT, or --topology) must give the service address');
  if (!dpid || !/^[0-9a-fA-F]{1,16}$/.test(dpid)) throw new Error('--dpid must be up to 16 hex digits');
  dpid = dpid.toLowerCase().padStart(16, '0');
  const sp = positiveInt('service-port', servicePort, undefined, 0xffffff00);
  const bp = positiveInt('standby-port', standbyPort, undefined, 0xffffff00);
  if (sp === bp) throw new Error('--service-port and --standby-port must differ');
  if (!v['local-service']) throw new Error('--local-service HOST:PORT is required with --controller');
  const localService = parseHostPort(v['local-service']);
  const poolText = v['local-pool'] ?? 'auto';
  let localPool: number | 'auto' = 'auto';
  if (poolText === '0') localPool = 0;
  else if (poolText !== 'auto') {
    localPool = Number(poolText);
    if (!Number.isInteger(localPool) || localPool < 0 || localPool > 1_000_000)
      throw new Error(`--local-pool must be auto or an integer in 0..1000000, got "${poolText}"`);
  }
  const localPoolMaxAgeMs = positiveInt(
    'local-pool-max-age-ms',
    v['local-pool-max-age-ms'],
    LOCAL_POOL_DEFAULTS.maxAgeMs,
  );
  if (localPoolMaxAgeMs < 1000)
    throw new Error(`--local-pool-max-age-ms must be at least 1000, got "${v['local-pool-max-age-ms']}"`);
  let heartbeat: FailoverSettings['heartbeat'] = false;
  if (!v['no-heartbeat']) {
    const target: HeartbeatTarget = v.heartbeat
      ? parseHeartbeatTarget(v.heartbeat)
      : { kind: 'tcp', host: serviceIp, port: firstService?.port ?? 80 };
    heartbeat = {
      target,
      intervalMs: positiveInt(
        'heartbeat-interval-ms',
        v['heartbeat-interval-ms'],
        LIVENESS_DEFAULTS.intervalMs,
      ),
      timeoutMs: positiveInt('heartbeat-timeout-ms', v['heartbeat-timeout-ms'], LIVENESS_DEFAULTS.timeoutMs),
      misses: positiveInt('heartbeat-misses', v['heartbeat-misses'], LIVENESS_DEFAULTS.misses),
    };
  } else if (v.heartbeat) {
    throw new Error('--heartbeat and --no-heartbeat contradict each other');
  }
  return {
    controllerUrl: v.controller,
    controllerToken: v['controller-token'] ?? env.NONSTOP_CONTROLLER_TOKEN,
    dpid,
    servicePort: sp,
    standbyPort: bp,
    serviceIp,
    localService,
    localPool,
    localPoolMaxAgeMs,
    heartbeat,
    autoFailover: !v['no-auto-failover'],
    restoreEnabled: !v['no-restore'],
    mirror: !v['no-mirror'],
  };
}
