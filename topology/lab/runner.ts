// `nonstop lab up|down|status|exec|failover`: a topology file built on real OVS (one private
// userspace OVS per switch namespace), hosts as namespaces, a management veth between the
// switch and standby namespaces, and the controller, agent and services it names. State lives
// in a state dir so any later process can inspect or tear the lab down.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  addressOf,
  findHost,
  hostsByRole,
  loadTopology,
  protectedServices,
  resolveTopologyPath,
  type Topology,
} from '../index.js';
import { ApiClient } from '../ops/api-client.js';
import { cleanupPrefix, findLeftovers, isEmpty } from './cleanup.js';
import type { BarrierResult } from '../../standby-agent/capture/barrier.js';
import { tryRun, waitFor } from './exec.js';
import { Lab, type LabProcess, newPrefix, procStartTime } from './lab.js';
import { listNamespaces } from './netns.js';
import { pidAlive } from './proc.js';
import { writeNginxSite } from './services.js';

export interface LabProcessRecord {
  role: 'controller' | 'agent' | 'nginx';
  host: string;
  ns: string;
  pid: number;
  startTime: string | null;
  log: string;
}

export interface LabState {
  version: 1;
  name: string;
  topologyPath: string;
  prefix: string;
  stateDir: string;
  labDir: string;
  token: string;
  createdAt: string;
  /** switch name -> namespace; host name -> namespace */
  switchNs: Record<string, string>;
  hostNs: Record<string, string>;
  ovsDirs: Record<string, string>;
  processes: LabProcessRecord[];
  controllerUrl: string;
  agentUrl?: string;
  /** what is not running and why (e.g. a component not built yet) */
  notes: string[];
  complete: boolean;
}

export const DEFAULT_STATE_ROOT = '/run/nonstop-lab';

export function stateRoot(): string {
  return process.env.NONSTOP_LAB_STATE_DIR || DEFAULT_STATE_ROOT;
}

export function stateDirFor(name: string, root = stateRoot()): string {
  return join(root, name);
}

export function readLabState(name: string, root = stateRoot()): LabState | null {
  try {
    return JSON.parse(readFileSync(join(stateDirFor(name, root), 'state.json'), 'utf8')) as LabState;
  } catch {
    return null;
  }
}

function writeLabState(s: LabState): void {
  mkdirSync(s.stateDir, { recursive: true });
  const f = join(s.stateDir, 'state.json');
  writeFileSync(`${f}.tmp`, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

/** The repository root (holds package.json), from source or from dist/. */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'topology'))) return d;
    d = dirname(d);
  }
  return process.cwd();
}

/** How to run one of our CLIs: the TypeScript source through tsx, else the built dist/ file. */
export function entryCommand(rel: string): { cmd: string; args: string[] } | null {
  const root = repoRoot();
  const ts = join(root, `${rel}.ts`);
  if (existsSync(ts) && existsSync(join(root, 'node_modules', 'tsx'))) {
    return { cmd: process.execPath, args: ['--import', 'tsx', ts] };
  }
  const js = join(root, 'dist', `${rel}.js`);
  if (existsSync(js)) return { cmd: process.execPath, args: [js] };
  return null;
}

function endpointUrl(listen: string, stateDir: string): string {
  if (listen.startsWith('unix:')) {
    const p = listen.slice(5);
    return `unix:${isAbsolute(p) ? p : join(stateDir, p)}`;
  }
  return `http://${listen}`;
}

export interface UpOptions {
  topology: string;
  /** state root (default $NONSTOP_LAB_STATE_DIR or /run/nonstop-lab) */
  stateRoot?: string;
  /** start the controller/agent (default true); false = NORMAL flow only */
  controller?: boolean;
  agent?: boolean;
  log?: (line: string) => void;
}

export interface UpResult {
  state: LabState;
  alreadyUp: boolean;
}

function mgmtAddresses(subnet: string): [string, string] {
  const [base] = subnet.split('/');
  const o = base.split('.').map(Number);
  const n = ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
  const ip = (x: number) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join('.');
  return [`${ip(n + 1)}/30`, `${ip(n + 2)}/30`];
}

async function healthy(s: LabState): Promise<boolean> {
  const nss = new Set(await listNamespaces().catch(() => [] as string[]));
  if (![...Object.values(s.switchNs), ...Object.values(s.hostNs)].every((n) => nss.has(n))) return false;
  return s.complete && s.processes.every((p) => pidAlive(p.pid) && procStartTime(p.pid) === p.startTime);
}

/** Builds the topology (idempotent: an intact running lab of the same name is left as is). */
export async function labUp(opts: UpOptions): Promise<UpResult> {
  const log = opts.log ?? (() => {});
  const topoPath = resolveTopologyPath(opts.topology);
  const topo = loadTopology(topoPath);
  const root = opts.stateRoot ?? stateRoot();
  const existing = readLabState(topo.name, root);
  if (existing) {
    if (await healthy(existing)) return { state: existing, alreadyUp: true };
    log(`lab ${topo.name}: found a broken earlier run (prefix ${existing.prefix}), removing it`);
    await labDown(topo.name, { stateRoot: root });
  }
  if (topo.switches.length !== 1) {
    throw new Error(`the lab runner builds one-switch topologies; ${topo.name} has ${topo.switches.length}`);
  }
  const stateDir = stateDirFor(topo.name, root);
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, 0o755);
  const prefix = await newPrefix();
  const labDir = join(stateDir, 'lab');
  const state: LabState = {
    version: 1,
    name: topo.name,
    topologyPath: topoPath,
    prefix,
    stateDir,
    labDir,
    token: randomBytes(16).toString('hex'),
    createdAt: new Date().toISOString(),
    switchNs: {},
    hostNs: {},
    ovsDirs: {},
    processes: [],
    controllerUrl: endpointUrl(topo.controller.apiListen, stateDir),
    agentUrl: topo.agent ? endpointUrl(topo.agent.apiListen, stateDir) : undefined,
    notes: [],
    complete: false,
  };
  // written first, so `down` can find this run's prefix even if `up` dies halfway
  writeLabState(state);
  const lab = await Lab.create({ prefix, dir: labDir });
  chmodSync(labDir, 0o755);
  try {
    await build(lab, topo, state, opts, log);
    state.complete = true;
    writeLabState(state);
    return { state, alreadyUp: false };
  } catch (e) {
    log(`lab ${topo.name}: up failed, removing what was built: ${(e as Error).message}`);
    await labDown(topo.name, { stateRoot: root });
    throw e;
  }
}

function record(
  state: LabState,
  p: LabProcess,
  role: LabProcessRecord['role'],
  host: string,
  ns: string,
  logFile: string,
): void {
  p.child.unref();
  state.processes.push({ role, host, ns, pid: p.pid, startTime: procStartTime(p.pid), log: logFile });
  writeLabState(state);
}

async function build(
  lab: Lab,
  topo: Topology,
  state: LabState,
  opts: UpOptions,
  log: (l: string) => void,
): Promise<void> {
  const swSpec = topo.switches[0];
  const ofTarget = `tcp:${topo.controller.ofListen}`;
  const sw = await lab.addSwitch(swSpec.name, { dpid: swSpec.dpid, bridge: swSpec.bridge });
  state.switchNs[swSpec.name] = sw.ns;
  state.ovsDirs[swSpec.name] = sw.ovs.dir;
  writeLabState(state);
  log(
    `switch ${swSpec.name}: private OVS in namespace ${sw.ns}, bridge ${swSpec.bridge}, dpid ${swSpec.dpid}`,
  );

  for (const h of topo.hosts) {
    const host = await lab.addHost(h.name, { sw, ofport: h.port, ip: h.ip, mac: h.mac });
    state.hostNs[h.name] = host.ns;
    log(`host ${h.name} (${h.role}): ${h.ip} ${h.mac} on port ${h.port}, namespace ${host.ns}`);
  }
  writeLabState(state);

  // controller <-> agent management link, off the data path
  const standby = hostsByRole(topo, 'standby')[0];
  if (standby) {
    const [swAddr, sbAddr] = mgmtAddresses(topo.management.subnet);
    await lab.link(
      { ns: sw.ns, name: 'mgmt0', address: swAddr },
      { ns: state.hostNs[standby.name], name: 'mgmt0', address: sbAddr },
    );
    log(`management link: ${sw.ns}/mgmt0 ${swAddr} <-> ${state.hostNs[standby.name]}/mgmt0 ${sbAddr}`);
  }

  for (const h of topo.hosts) {
    for (const svc of h.services) {
      const dir = join(state.labDir, 'hosts', h.name, `nginx-${svc.port}`);
      // the standby listens on every address: its own, the loopback (where the agent joins restored
      // connections) and the service address once it has taken it over (new connections)
      const listen = h.role === 'standby' ? [String(svc.port)] : [`${addressOf(h)}:${svc.port}`];
      const probe = `${addressOf(h)}:${svc.port}`;
      const site = writeNginxSite({ dir, listen, servedBy: h.name });
      const logFile = join(dir, 'stdout.log');
      const p = lab.spawn(state.hostNs[h.name], site.cmd, site.args, { logFile });
      record(state, p, 'nginx', h.name, state.hostNs[h.name], logFile);
      await waitFor(`nginx on ${h.name} ${probe}`, async () => {
        if (!pidAlive(p.pid)) throw new Error(`nginx exited: ${readTail(join(dir, 'error.log'))}`);
        return tryRun('ip', [
          'netns',
          'exec',
          state.hostNs[h.name],
          'curl',
          '-s',
          '-o',
          '/dev/null',
          '--max-time',
          '1',
          `http://${probe}/`,
        ]);
      });
      log(`nginx on ${h.name}: ${h.role === 'standby' ? `*:${svc.port}` : probe}`);
    }
  }

  const controllerCmd = opts.controller === false ? null : entryCommand('controller/cli');
  if (controllerCmd) {
    const logFile = join(state.stateDir, 'controller.log');
    const apiListen = state.controllerUrl.startsWith('unix:')
      ? state.controllerUrl
      : topo.controller.apiListen;
    const p = lab.spawn(
      sw.ns,
      controllerCmd.cmd,
      [
        ...controllerCmd.args,
        '--of-listen',
        topo.controller.ofListen,
        '--api-listen',
        apiListen,
        '--token',
        state.token,
      ],
      { logFile, cwd: repoRoot() },
    );
    record(state, p, 'controller', swSpec.name, sw.ns, logFile);
    await sw.setController([ofTarget]);
    await waitFor(
      'the switch to connect to the controller',
      async () => {
        if (!pidAlive(p.pid)) throw new Error(`controller exited: ${readTail(logFile)}`);
        return sw.ovs.controllerConnected(swSpec.bridge);
      },
      20_000,
      100,
    );
    log(`controller: OpenFlow ${topo.controller.ofListen} (switch connected), API ${state.controllerUrl}`);
  } else {
    // without a controller a fail_mode=secure bridge forwards nothing: plain L2 so the lab still works
    await sw.addFlow('priority=0,actions=NORMAL');
    state.notes.push(
      opts.controller === false
        ? 'controller not started (--no-controller): the bridge forwards with a NORMAL flow, no mirroring'
        : 'controller not available (controller/cli.ts missing): the bridge forwards with a NORMAL flow, no mirroring',
    );
    log(`controller: not started; ${state.notes[state.notes.length - 1]}`);
  }

  const agentCmd =
    opts.agent === false || !topo.agent || !controllerCmd ? null : entryCommand('standby-agent/cli');
  if (topo.agent && agentCmd && state.agentUrl) {
    const sb = findHost(topo, topo.agent.host);
    const [service] = protectedServices(topo, sb);
    const svcPort = service?.services[0]?.port ?? 80;
    const logFile = join(state.stateDir, 'agent.log');
    const args = [
      ...agentCmd.args,
      '--iface',
      'eth0',
      '--service',
      `${addressOf(service)}:${svcPort}`,
      '--api-listen',
      state.agentUrl.startsWith('unix:') ? state.agentUrl : topo.agent.apiListen,
      '--token',
      state.token,
      '--controller',
      state.controllerUrl,
      '--controller-token',
      state.token,
      '--dpid',
      swSpec.dpid,
      '--service-port',
      String(service.port),
      '--standby-port',
      String(sb.port),
      '--local-service',
      `127.0.0.1:${svcPort}`,
    ];
    const p = lab.spawn(state.hostNs[sb.name], agentCmd.cmd, args, { logFile, cwd: repoRoot() });
    record(state, p, 'agent', sb.name, state.hostNs[sb.name], logFile);
    const client = new ApiClient({ name: 'agent', url: state.agentUrl, token: state.token, timeoutMs: 1000 });
    await waitFor(
      'the agent API',
      async () => {
        if (!pidAlive(p.pid)) throw new Error(`agent exited: ${readTail(logFile)}`);
        return client.get('/v1/status').then(() => true);
      },
      20_000,
      100,
    );
    log(`agent on ${sb.name}: API ${state.agentUrl}, protecting ${service.name} (port ${service.port})`);
    // Protection is in force once the agent's capture sees the mirror (the switch echoed its
    // barrier): a connection opened before is only seen mid-stream, and is reset at failover.
    const barrier = await waitFor(
      'the agent capturing the mirror',
      async () => {
        const st = (await client.get('/v1/status')) as { failover?: { captureBarrier?: BarrierResult } };
        return st.failover?.captureBarrier?.ok ? st.failover.captureBarrier : undefined;
      },
      10_000,
      100,
    ).catch(() => undefined);
    if (barrier) log(`agent on ${sb.name}: capturing the mirror (its barrier echoed in ${barrier.ms} ms)`);
    else {
      state.notes.push('the agent did not confirm its capture of the mirror within 10 s (see its log)');
      log(`agent on ${sb.name}: its capture of the mirror is not confirmed yet (see ${logFile})`);
    }
  } else if (topo.agent) {
    const why = !controllerCmd
      ? 'no controller'
      : opts.agent === false
        ? '--no-agent'
        : 'standby-agent/cli.ts missing';
    state.notes.push(`agent not started (${why})`);
    log(`agent: not started (${why})`);
  }
}

function readTail(file: string, bytes = 1500): string {
  try {
    const t = readFileSync(file, 'utf8');
    return t.slice(-bytes).trim() || '(empty log)';
  } catch {
    return '(no log)';
  }
}

export interface DownResult {
  found: boolean;
  removed: { namespaces: number; links: number; processes: number };
}

/** Stops everything of the named lab (also a crashed one, by its recorded prefix). Idempotent. */
export async function labDown(name: string, opts: { stateRoot?: string } = {}): Promise<DownResult> {
  const root = opts.stateRoot ?? stateRoot();
  const state = readLabState(name, root);
  const stateDir = stateDirFor(name, root);
  if (!state) {
    rmSync(stateDir, { recursive: true, force: true });
    return { found: false, removed: { namespaces: 0, links: 0, processes: 0 } };
  }
  // agent first (it may be holding the service address), then controller, services, OVS
  const order = ['agent', 'controller', 'nginx'];
  const procs = [...state.processes].sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
  for (const p of procs) {
    if (pidAlive(p.pid) && procStartTime(p.pid) === p.startTime) {
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {
        // not a group leader any more
      }
      await waitFor(`${p.role} to stop`, () => !pidAlive(p.pid), 3000).catch(() => {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      });
    }
  }
  const found = await cleanupPrefix(state.prefix, { extraDirs: [state.labDir] });
  rmSync(stateDir, { recursive: true, force: true });
  return {
    found: true,
    removed: {
      namespaces: found.namespaces.length,
      links: found.links.length,
      processes: found.pids.length + procs.length,
    },
  };
}

export interface StatusResult {
  name: string;
  up: boolean;
  state?: LabState;
  namespaces: { name: string; ns: string; present: boolean }[];
  processes: (LabProcessRecord & { alive: boolean })[];
  controller?: { reachable: boolean; detail: string };
  agent?: { reachable: boolean; detail: string };
  leftovers?: boolean;
}

export async function labStatus(name: string, opts: { stateRoot?: string } = {}): Promise<StatusResult> {
  const state = readLabState(name, opts.stateRoot ?? stateRoot());
  if (!state) return { name, up: false, namespaces: [], processes: [] };
  const nss = new Set(await listNamespaces().catch(() => [] as string[]));
  const namespaces = [
    ...Object.entries(state.switchNs).map(([n, ns]) => ({ name: `switch ${n}`, ns, present: nss.has(ns) })),
    ...Object.entries(state.hostNs).map(([n, ns]) => ({ name: n, ns, present: nss.has(ns) })),
  ];
  const processes = state.processes.map((p) => ({
    ...p,
    alive: pidAlive(p.pid) && procStartTime(p.pid) === p.startTime,
  }));
  const probe = async (url: string | undefined, path: string, who: string) => {
    if (!url) return undefined;
    try {
      const body = await new ApiClient({ name: who, url, token: state.token, timeoutMs: 1500 }).get(path);
      return { reachable: true, detail: JSON.stringify(body).slice(0, 200) };
    } catch (e) {
      return { reachable: false, detail: (e as Error).message };
    }
  };
  const hasController = state.processes.some((p) => p.role === 'controller');
  const hasAgent = state.processes.some((p) => p.role === 'agent');
  const controller = hasController ? await probe(state.controllerUrl, '/health', 'controller') : undefined;
  const agent = hasAgent ? await probe(state.agentUrl, '/v1/status', 'agent') : undefined;
  const leftovers = !isEmpty(await findLeftovers(state.prefix, [state.labDir]));
  const up = state.complete && namespaces.every((n) => n.present) && processes.every((p) => p.alive);
  return { name, up, state, namespaces, processes, controller, agent, leftovers };
}

/** Runs CMD in HOST's namespace with the terminal attached; returns its exit code. */
export function labExec(
  name: string,
  host: string,
  argv: string[],
  opts: { stateRoot?: string } = {},
): number {
  const state = readLabState(name, opts.stateRoot ?? stateRoot());
  if (!state)
    throw new Error(
      `lab ${name} is not up (no state in ${stateDirFor(name, opts.stateRoot ?? stateRoot())})`,
    );
  const ns = state.hostNs[host] ?? state.switchNs[host];
  if (!ns)
    throw new Error(`lab ${name} has no host "${host}" (hosts: ${Object.keys(state.hostNs).join(', ')})`);
  if (!argv.length) throw new Error('missing command: nonstop lab exec HOST CMD [ARGS...]');
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 128 + 1;
}

/** Clients for the lab's controller and agent (token included). */
export function labClients(state: LabState): { controller: ApiClient; agent: ApiClient | undefined } {
  return {
    controller: new ApiClient({ name: 'controller', url: state.controllerUrl, token: state.token }),
    agent: state.agentUrl
      ? new ApiClient({ name: 'agent', url: state.agentUrl, token: state.token, timeoutMs: 30_000 })
      : undefined,
  };
}

/**
 * Fails a service node the way a crash looks from the network: its service processes die and
 * its interface goes down (no FIN, no RST reaches the clients).
 */
export async function failServiceNode(state: LabState, host: string): Promise<void> {
  const ns = state.hostNs[host];
  if (!ns) throw new Error(`lab ${state.name} has no host "${host}"`);
  // link down first, so the dying nginx's FINs/RSTs never leave the host
  await tryRun('ip', ['-n', ns, 'link', 'set', 'eth0', 'down']);
  for (const p of state.processes.filter((x) => x.host === host && x.role === 'nginx')) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function resolveLabName(nameOrTopology: string | undefined): string {
  if (!nameOrTopology) return 'ha-basic';
  const p = resolve(nameOrTopology);
  if (existsSync(p) && p.endsWith('.json')) return loadTopology(p).name;
  return nameOrTopology.replace(/\.json$/, '');
}
