// A Lab owns everything one test (or one `nonstop lab up`) creates: namespaces, veths, private
// OVS instances, processes and a temp dir, all named with one per-run random prefix, so
// destroy() removes exactly that and cleanupPrefix() can find a crashed run's leftovers.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { type RunOptions, type RunResult, tryRunSync } from './exec.js';
import {
  assertIfName,
  createNamespace,
  createVethPair,
  deleteLink,
  deleteNamespace,
  listNamespaces,
  MAX_IFNAME,
  namespacePids,
  type NsName,
  type NsSpawnOptions,
  nsExec,
  nsSpawn,
  type VethEnd,
} from './netns.js';
import { type BridgeOptions, PrivateOvs } from './ovs.js';
import { killPid, killPidSync, pidAlive, readPidFile } from './proc.js';

/** Lab temp dirs are `${LAB_DIR_BASE}${prefix}-XXXXXX`. */
export const LAB_DIR_PREFIX = 'nonstop-lab-';
/** Prefixes look like "nsa1b2c3": 8 chars, leaving 7 for root-namespace interface names. */
export const PREFIX_RE = /^ns[0-9a-f]{6}$/;

export interface LabOptions {
  /** fixed prefix (must match PREFIX_RE); default: random, unused */
  prefix?: string;
  /** use this directory instead of a fresh temp dir (the lab runner keeps state there) */
  dir?: string;
}

export interface SwitchOptions extends BridgeOptions {
  /** bridge name, default 'br0' */
  bridge?: string;
}

export interface HostOptions {
  sw: LabSwitch;
  /** OpenFlow port number on the switch */
  ofport: number;
  /** address with prefix length, e.g. "10.0.0.1/24" */
  ip: string;
  mac?: string;
  /** interface name inside the host namespace, default 'eth0' */
  ifname?: string;
  /** switch-side interface name, default the host's short name (truncated) */
  portName?: string;
}

export interface LabProcess {
  pid: number;
  ns: NsName;
  child: ChildProcess;
  /** resolves with the exit code (or signal name) when the process ends */
  exited: Promise<number | string | null>;
  /** stops the process group: SIGTERM, SIGKILL after 3 s */
  stop(): Promise<void>;
}

export interface LabSwitch {
  /** short name given to addSwitch */
  short: string;
  /** network namespace where its ovs-vswitchd runs (ports live there) */
  ns: string;
  bridge: string;
  dpid?: string;
  ovs: PrivateOvs;
  /** interface name -> OpenFlow port number */
  ports: Map<string, number>;
  /** path for a `unix:` controller target (must be inside the OVS run dir), e.g. setController([`unix:${sw.controllerSocket}`]) */
  controllerSocket: string;
  addFlow(flow: string): Promise<void>;
  dumpFlows(...args: string[]): Promise<string[]>;
  ofctl(cmd: string, ...args: string[]): Promise<string>;
  setController(targets: string[]): Promise<void>;
}

export interface LabHost {
  short: string;
  /** network namespace name */
  ns: string;
  ifname: string;
  /** address without the prefix length */
  ip: string;
  cidr: string;
  mac?: string;
  ofport: number;
  portName: string;
  exec(cmd: string, args?: readonly string[], opts?: RunOptions): Promise<RunResult>;
  spawn(cmd: string, args?: readonly string[], opts?: NsSpawnOptions): LabProcess;
}

export function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** A random prefix no existing namespace uses. */
export async function newPrefix(): Promise<string> {
  const existing = await listNamespaces().catch(() => [] as string[]);
  for (;;) {
    const p = `ns${randomBytes(3).toString('hex')}`;
    if (!existing.some((n) => n.startsWith(p))) return p;
  }
}

export class Lab {
  readonly namespaces = new Set<string>();
  readonly rootLinks = new Set<string>();
  readonly processes = new Set<LabProcess>();
  readonly switches = new Map<string, LabSwitch>();
  readonly hosts = new Map<string, LabHost>();
  private readonly ovsList: PrivateOvs[] = [];
  private destroyed = false;
  private rootLinkCounter = 0;

  private constructor(
    readonly prefix: string,
    readonly dir: string,
  ) {}

  static async create(opts: LabOptions = {}): Promise<Lab> {
    const prefix = opts.prefix ?? (await newPrefix());
    if (!PREFIX_RE.test(prefix)) throw new Error(`lab prefix must match ${PREFIX_RE}, got ${prefix}`);
    let dir: string;
    if (opts.dir) {
      mkdirSync(opts.dir, { recursive: true });
      dir = opts.dir;
    } else {
      dir = mkdtempSync(join(tmpdir(), `${LAB_DIR_PREFIX}${prefix}-`));
      // lets reapOrphanLabs() tell a crashed (SIGKILLed) run's leftovers from a live lab
      writeFileSync(join(dir, 'owner'), `${process.pid} ${procStartTime(process.pid) ?? '?'}\n`);
    }
    return new Lab(prefix, dir);
  }

  /** Full namespace name for a short name: `${prefix}-${short}`. */
  nsName(short: string): string {
    return `${this.prefix}-${short}`;
  }

  /** A fresh root-namespace interface name starting with the prefix (<= 15 chars). */
  rootIfName(hint = 'v'): string {
    const n = `${this.prefix}${hint}${this.rootLinkCounter++}`;
    return n.length <= MAX_IFNAME ? n : `${this.prefix}v${this.rootLinkCounter++}`;
  }

  private assertAlive(): void {
    if (this.destroyed) throw new Error('lab already destroyed');
  }

  async addNamespace(short: string): Promise<string> {
    this.assertAlive();
    if (!/^[a-zA-Z0-9_.-]{1,40}$/.test(short))
      throw new Error(`bad namespace short name ${JSON.stringify(short)}`);
    const ns = this.nsName(short);
    this.namespaces.add(ns);
    await createNamespace(ns);
    return ns;
  }

  /** A veth pair; ends in the root namespace (ns null) must use rootIfName() names. */
  async link(a: VethEnd, b: VethEnd): Promise<void> {
    this.assertAlive();
    for (const end of [a, b]) {
      if (!end.ns) {
        if (!end.name.startsWith(this.prefix)) {
          throw new Error(
            `root-namespace interface ${end.name} must start with the lab prefix ${this.prefix}`,
          );
        }
        this.rootLinks.add(end.name);
      }
    }
    await createVethPair(a, b);
  }

  /** A namespace with a private OVS (ovsdb-server + ovs-vswitchd) and one bridge. */
  async addSwitch(short: string, opts: SwitchOptions = {}): Promise<LabSwitch> {
    const ns = await this.addNamespace(short);
    const ovsDir = join(this.dir, `ovs-${short}`);
    mkdirSync(ovsDir, { recursive: true });
    appendFileSync(join(this.dir, 'ovs-dirs'), `${ovsDir}\n`);
    const ovs = await PrivateOvs.start(ovsDir, ns).catch((e) => {
      // track it anyway, so destroy() kills whichever daemon did start
      this.ovsList.push(Object.assign(Object.create(PrivateOvs.prototype), { dir: ovsDir }));
      throw e;
    });
    this.ovsList.push(ovs);
    const bridge = opts.bridge ?? 'br0';
    await ovs.addBridge(bridge, opts);
    const sw: LabSwitch = {
      short,
      ns,
      bridge,
      dpid: opts.dpid,
      ovs,
      ports: new Map(),
      controllerSocket: ovs.controllerSocket(),
      addFlow: (flow) => ovs.addFlow(bridge, flow),
      dumpFlows: (...args) => ovs.dumpFlows(bridge, ...args),
      ofctl: (cmd, ...args) => ovs.ofctl(bridge, cmd, ...args),
      setController: (targets) => ovs.setController(bridge, targets),
    };
    this.switches.set(short, sw);
    return sw;
  }

  /** Adds a port to a switch: a veth whose other end is in `ns` (or the root namespace). */
  async addSwitchPort(
    sw: LabSwitch,
    portName: string,
    ofport: number,
    other: Omit<VethEnd, 'ns'> & { ns: NsName },
  ): Promise<number> {
    await this.link({ ns: sw.ns, name: portName }, other);
    const n = await sw.ovs.addPort(sw.bridge, portName, { ofport });
    sw.ports.set(portName, n);
    return n;
  }

  /** A host namespace with one interface plugged into `sw` at `ofport`. */
  async addHost(short: string, opts: HostOptions): Promise<LabHost> {
    const ns = await this.addNamespace(short);
    const ifname = opts.ifname ?? 'eth0';
    const portName = opts.portName ?? short.slice(0, MAX_IFNAME);
    assertIfName(portName);
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(opts.ip) && !opts.ip.includes(':')) {
      throw new Error(`host ${short}: ip must be ADDRESS/PREFIXLEN, got ${opts.ip}`);
    }
    await this.addSwitchPort(opts.sw, portName, opts.ofport, {
      ns,
      name: ifname,
      address: opts.ip,
      mac: opts.mac,
    });
    const host: LabHost = {
      short,
      ns,
      ifname,
      ip: opts.ip.split('/')[0],
      cidr: opts.ip,
      mac: opts.mac,
      ofport: opts.ofport,
      portName,
      exec: (cmd, args = [], o) => nsExec(ns, cmd, args, o),
      spawn: (cmd, args = [], o) => this.spawn(ns, cmd, args, o),
    };
    this.hosts.set(short, host);
    return host;
  }

  /** Runs a command in a namespace (null = root) and returns its output; rejects on failure. */
  exec(ns: NsName, cmd: string, args: readonly string[] = [], opts?: RunOptions): Promise<RunResult> {
    return nsExec(ns, cmd, args, opts);
  }

  /** Starts a tracked long-running process in its own process group inside `ns`. */
  spawn(ns: NsName, cmd: string, args: readonly string[] = [], opts: NsSpawnOptions = {}): LabProcess {
    this.assertAlive();
    const child = nsSpawn(ns, cmd, args, opts);
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    const pid = child.pid;
    // recorded with its start time so a crashed run's cleanup never kills a reused PID
    appendFileSync(join(this.dir, 'pids'), `${pid} ${procStartTime(pid) ?? '?'}\n`);
    const exited = new Promise<number | string | null>((resolve) => {
      child.once('exit', (code, sig) => resolve(code ?? sig));
      child.once('error', () => resolve(null));
    });
    const proc: LabProcess = {
      pid,
      ns,
      child,
      exited,
      stop: async () => {
        await killPid(pid, { group: true, graceMs: 3000 });
        this.processes.delete(proc);
      },
    };
    this.processes.add(proc);
    return proc;
  }

  /** Removes everything this lab created. Never throws; safe to call twice. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const step = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch {
        // best effort: keep going so the rest is still removed
      }
    };
    await Promise.all([...this.processes].map((p) => step(() => p.stop())));
    await Promise.all(this.ovsList.map((o) => step(() => o.stop())));
    for (const ns of this.namespaces) {
      // anything else left running inside our namespaces (daemons that left the group)
      await step(async () => {
        for (const pid of await namespacePids(ns)) await killPid(pid, { graceMs: 1000 });
      });
      await step(() => deleteNamespace(ns));
    }
    for (const l of this.rootLinks) await step(() => deleteLink(null, l));
    // NONSTOP_KEEP_LAB_LOGS=1: the logs of the lab's processes stay for a post-mortem
    if (process.env.NONSTOP_KEEP_LAB_LOGS)
      process.stderr.write(`lab ${this.prefix}: logs kept in ${this.dir}\n`);
    else await step(async () => rmSync(this.dir, { recursive: true, force: true }));
    this.processes.clear();
    this.namespaces.clear();
    this.rootLinks.clear();
  }

  /** Synchronous SIGKILL-and-delete, for process 'exit' handlers. Never throws. */
  destroySync(): void {
    this.destroyed = true;
    try {
      for (const p of this.processes) killPidSync(p.pid, true);
      for (const o of this.ovsList) {
        for (const f of ['ovs-vswitchd.pid', 'ovsdb-server.pid']) {
          const pid = readPidFile(join(o.dir, f));
          if (pid && pidAlive(pid)) killPidSync(pid);
        }
      }
      for (const ns of this.namespaces) {
        const pids = tryRunSync('ip', ['netns', 'pids', ns]) ?? '';
        for (const p of pids.split(/\s+/).filter(Boolean)) killPidSync(Number(p));
        tryRunSync('ip', ['netns', 'delete', ns]);
      }
      for (const l of this.rootLinks) tryRunSync('ip', ['link', 'delete', l]);
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // never throw from an exit handler
    }
    this.processes.clear();
    this.namespaces.clear();
    this.rootLinks.clear();
  }
}
