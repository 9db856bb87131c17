// The failover lab, shared by the e2e tests and bench/failover.ts: one private OVS switch,
// a client host, the service host and the standby host; nginx on the service and on the
// standby serving the same directory; the controller (inside the switch's namespace, REST on
// a unix socket) and the standby agent (inside the standby's namespace).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost, LabProcess, LabSwitch } from '../../topology/lab/index.js';
import { run, waitFor } from '../../topology/lab/index.js';
import type { BarrierResult } from '../../standby-agent/capture/barrier.js';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = join(here, '..', '..');

export const DPID = '00000000000000f1';
export const PORTS = { client: 1, service: 2, standby: 3 } as const;
export const TOKEN = 'nonstop-e2e-token';
/** the file the clients fetch: FILE_BYTES of 'x' */
export const FILE = '/f.txt';
export const FILE_BYTES = 2000;

export interface Scenario {
  lab: Lab;
  sw: LabSwitch;
  client: LabHost;
  service: LabHost;
  standby: LabHost;
  /** unix socket of the controller's REST API */
  controllerApi: string;
  controller?: LabProcess;
  serviceNginx: LabProcess;
  standbyNginx: LabProcess;
  agent?: LabProcess;
  /** the agent's REST API, reachable from inside the standby's namespace */
  agentUrl: string;
}

function nginxConf(dir: string, listen: string, www: string): string {
  for (const d of ['client', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(dir, `${d}_temp`), { recursive: true });
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_temp;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server { listen ${listen}; root ${www}; }
}
`;
}

export function startNginx(lab: Lab, host: LabHost, name: string, listen: string, www: string): LabProcess {
  const dir = join(lab.dir, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, listen, www));
  return host.spawn(
    'nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
    {
      logFile: join(dir, 'stdout.log'),
    },
  );
}

/** Node with tsx, running a TypeScript entry of this repository. */
let fromDist = false;

/**
 * Runs the controller and the agent from the compiled `dist/` build, as `./nonstop` does
 * (benchmarks: under tsx every imported binding is a getter call, about 30% slower). Tests run
 * the sources, so they never test a stale build.
 */
export function runProductFromDist(): void {
  fromDist = true;
}

export function tsNode(file: string, args: string[]): [string, string[]] {
  const built = join(REPO, 'dist', file.replace(/\.ts$/, '.js'));
  if (fromDist && !file.startsWith('test/')) {
    if (!existsSync(built))
      throw new Error(`${built} is missing: build first (npx tsc -p tsconfig.build.json)`);
    // BENCH_NODE_ARGS: extra node flags for the product's processes (e.g. --cpu-prof)
    const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    return [process.execPath, [...extra, built, ...args]];
  }
  return [process.execPath, ['--import', 'tsx', join(REPO, file), ...args]];
}

export async function buildScenario(lab: Lab, opts: { controller?: boolean } = {}): Promise<Scenario> {
  const net3 = 1 + Math.floor(Math.random() * 250);
  const ip = (h: number) => `10.213.${net3}.${h}`;
  const sw = await lab.addSwitch('sw', { dpid: DPID });
  const client = await lab.addHost('cli', {
    sw,
    ofport: PORTS.client,
    ip: `${ip(10)}/24`,
    mac: '02:00:00:00:0f:0a',
  });
  const service = await lab.addHost('svc', {
    sw,
    ofport: PORTS.service,
    ip: `${ip(1)}/24`,
    mac: '02:00:00:00:0f:01',
  });
  const standby = await lab.addHost('stb', {
    sw,
    ofport: PORTS.standby,
    ip: `${ip(2)}/24`,
    mac: '02:00:00:00:0f:02',
  });

  // the same content on both nodes
  const www = join(lab.dir, 'www');
  mkdirSync(www, { recursive: true });
  chmodSync(lab.dir, 0o755);
  chmodSync(www, 0o755);
  writeFileSync(join(www, FILE.slice(1)), 'x'.repeat(FILE_BYTES));
  chmodSync(join(www, FILE.slice(1)), 0o644);

  // controller inside the switch namespace: OpenFlow over loopback there, REST on a unix socket
  // (controller: false = a plain NORMAL switch, to check the lab itself)
  const controllerApi = join(lab.dir, 'controller-api.sock');
  let controller: LabProcess | undefined;
  if (opts.controller === false) {
    await sw.addFlow('priority=0,actions=NORMAL');
  } else {
    const [node, cargs] = tsNode('controller/cli.ts', [
      '--of-listen',
      '127.0.0.1:6653',
      '--api-listen',
      `unix:${controllerApi}`,
      '--token',
      TOKEN,
    ]);
    controller = lab.spawn(sw.ns, node, cargs, { logFile: join(lab.dir, 'controller.log'), cwd: REPO });
    await waitFor('controller API socket', () => existsSync(controllerApi), 20_000);
    await sw.setController(['tcp:127.0.0.1:6653']);
    await waitFor('switch connected to the controller', () => sw.ovs.controllerConnected(sw.bridge), 20_000);
  }

  const serviceNginx = startNginx(lab, service, 'nginx-service', `${service.ip}:80`, www);
  // the standby's nginx listens on every address: its own, the loopback (where the agent joins
  // restored connections) and the service address once taken over
  const standbyNginx = startNginx(lab, standby, 'nginx-standby', '80', www);
  await waitFor(
    'service nginx',
    async () =>
      (await client.exec('curl', ['-sf', '--max-time', '1', `http://${service.ip}${FILE}`])).stdout.length ===
      FILE_BYTES,
    20_000,
  );
  await waitFor(
    'standby nginx',
    async () =>
      (await standby.exec('curl', ['-sf', '--max-time', '1', `http://127.0.0.1${FILE}`])).stdout.length ===
      FILE_BYTES,
    20_000,
  );
  return {
    lab,
    sw,
    client,
    service,
    standby,
    controllerApi,
    controller,
    serviceNginx,
    standbyNginx,
    agentUrl: 'http://127.0.0.1:8081',
  };
}

export interface AgentOptions {
  heartbeat?: boolean;
  /** what the heartbeats ask for (default: the file, from the service's nginx) */
  heartbeatUrl?: string;
  restore?: boolean;
  autoFailover?: boolean;
}

export async function startAgent(s: Scenario, opts: AgentOptions = {}): Promise<LabProcess> {
  const args = [
    '--iface',
    s.standby.ifname,
    '--service',
    `${s.service.ip}:80`,
    '--api-listen',
    '127.0.0.1:8081',
    '--token',
    TOKEN,
    '--controller',
    `unix:${s.controllerApi}`,
    '--controller-token',
    TOKEN,
    '--dpid',
    DPID,
    '--service-port',
    String(PORTS.service),
    '--standby-port',
    String(PORTS.standby),
    '--local-service',
    '127.0.0.1:80',
  ];
  if (opts.heartbeat !== false)
    args.push('--heartbeat', opts.heartbeatUrl ?? `http://${s.service.ip}${FILE}`);
  else args.push('--no-heartbeat');
  if (opts.restore === false) args.push('--no-restore');
  if (opts.autoFailover === false) args.push('--no-auto-failover');
  // BENCH_AGENT_ARGS: extra agent flags for a benchmark's A/B (e.g. --local-pool 0)
  args.push(...(process.env.BENCH_AGENT_ARGS?.split(' ').filter(Boolean) ?? []));
  const [node, aargs] = tsNode('standby-agent/cli.ts', args);
  const agent = s.lab.spawn(s.standby.ns, node, aargs, { logFile: join(s.lab.dir, 'agent.log'), cwd: REPO });
  s.agent = agent;
  // until the agent's capture sees the mirror (the switch echoed its barrier), not only its API:
  // a connection opened before that is only seen mid-stream, and is reset at failover, not restored
  await waitFor(
    'agent API and its capture on the mirror (its barrier echoed by the switch)',
    async () => {
      const { stdout } = await s.standby.exec('curl', [
        '-s',
        '--max-time',
        '1',
        '-H',
        `authorization: Bearer ${TOKEN}`,
        `${s.agentUrl}/v1/status`,
      ]);
      const st = JSON.parse(stdout) as { failover?: { captureBarrier?: BarrierResult } };
      return st.failover?.captureBarrier?.ok === true;
    },
    60_000,
  );
  return agent;
}

/** Calls the agent's API from inside the standby's namespace. */
export async function agentCall(
  s: Scenario,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const args = [
    '-s',
    '--max-time',
    '30',
    '-X',
    method,
    '-H',
    `authorization: Bearer ${TOKEN}`,
    '-w',
    '\n%{http_code}',
  ];
  if (body !== undefined) args.push('-H', 'content-type: application/json', '-d', JSON.stringify(body));
  const { stdout } = await s.standby.exec('curl', [...args, `${s.agentUrl}${path}`]);
  const nl = stdout.lastIndexOf('\n');
  const text = stdout.slice(0, nl);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: Number(stdout.slice(nl + 1)), json };
}

export interface ClientRun {
  proc: LabProcess;
  /** resolves when every connection has had its first response */
  ready: Promise<void>;
  /** resolves with the summary after stop() */
  stop(): Promise<ClientSummary>;
  /** the clients' clock (ms) when every connection had its first response */
  readyAtMs?: number;
  /** marks this moment: each connection then reports the failure's gap (failureGapMs) */
  mark(): void;
  /** the clients' clock (ms) at the first mark, once they have printed it */
  markedAtMs?: number;
  /** the failover is over: gaps that begin from now on are not the failure's (laterGapMs) */
  settle(): void;
}

export interface ClientConnSummary {
  index: number;
  localPorts: number[];
  requests: number;
  responses: number;
  badResponses: string[];
  errors: Array<{ code: string; atMs: number }>;
  closes: number;
  maxGapMs: number;
  maxGapEndMs: number;
  lastResponseMs: number;
  reconnects: number;
  firstErrorMs?: number;
  firstResponseAfterErrorMs?: number;
  /** the largest gap between responses that ended after the mark and began before settle(), and its start */
  failureGapMs?: number;
  failureGapStartMs?: number;
  /** the largest gap between responses that began after settle() */
  laterGapMs?: number;
}

export interface ClientSummary {
  durationMs: number;
  connections: ClientConnSummary[];
}

/** fixtures/http-clients.c, built with the machine's cc when missing or older than its source
 *  (into a new name, then renamed: tests running at once may build it together). */
export function httpClientsBinary(): string {
  const src = join(REPO, 'test/failover/fixtures/http-clients.c');
  const bin = join(REPO, 'test/failover/fixtures/build/http-clients');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  mkdirSync(dirname(bin), { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', tmp, src], { stdio: 'pipe' });
  renameSync(tmp, bin);
  return bin;
}

export function startClients(
  s: Pick<Scenario, 'client' | 'service'>,
  opts: { connections: number; intervalMs: number; reconnect?: boolean; port?: number },
): ClientRun {
  const args = [
    '--target',
    `${s.service.ip}:${opts.port ?? 80}`,
    '--path',
    FILE,
    '--connections',
    String(opts.connections),
    '--interval-ms',
    String(opts.intervalMs),
    '--expect-bytes',
    String(FILE_BYTES),
    '--expect-byte',
    'x',
    ...(opts.reconnect ? ['--reconnect'] : []),
  ];
  const proc = s.client.spawn(httpClientsBinary(), args, { stdio: 'pipe', cwd: REPO });
  let out = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    void proc.exited.then(() =>
      reject(new Error(`clients exited before all connections were answered: ${out}`)),
    );
    setTimeout(
      () => reject(new Error(`not every client connection answered within 30 s: ${out}`)),
      30_000,
    ).unref();
  });
  ready.catch(() => {});
  proc.child.stdout?.on('data', (d) => {
    out += d;
    const m = /\{"ready":true,"atMs":([\d.]+)\}/.exec(out);
    if (m && run.readyAtMs === undefined) {
      run.readyAtMs = Number(m[1]);
      markReady();
    }
    const marked = /\{"responses":\d+,"atMs":([\d.]+)\}/.exec(out);
    if (marked && run.markedAtMs === undefined) run.markedAtMs = Number(marked[1]);
  });
  const run: ClientRun = {
    proc,
    ready,
    mark: () => process.kill(proc.pid, 'SIGUSR1'),
    settle: () => process.kill(proc.pid, 'SIGUSR1'),
    async stop() {
      process.kill(proc.pid, 'SIGUSR2');
      await proc.exited;
      const lines = out.trim().split('\n');
      return JSON.parse(lines[lines.length - 1]) as ClientSummary;
    },
  };
  return run;
}

/** Kills the service node: its link goes down first (so nothing it sends on dying gets out), then nginx.
 *  `ip -n`, not `ip netns exec`: the latter sets up a mount namespace first, and took 15-24 ms
 *  on the busy bench host, so a failover's timeline began that long before the link went down. */
export async function killServiceNode(s: Scenario): Promise<void> {
  await run('ip', ['-n', s.service.ns, 'link', 'set', s.service.ifname, 'down']);
  process.kill(-s.serviceNginx.pid, 'SIGKILL');
}
