// Network namespaces, veth pairs, addresses and routes: thin, typed wrappers over `ip`.
// Every veth end gets `ethtool -K DEV tx off`: with TX checksum offload on, TCP through the
// userspace OVS datapath carries bad checksums and fails.
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { type RunOptions, type RunResult, run, tryRun } from './exec.js';

/** The root (initial) network namespace. */
export const ROOT_NS = null;
export type NsName = string | typeof ROOT_NS;

export const MAX_IFNAME = 15;

export function assertIfName(name: string): void {
  if (name.length === 0 || name.length > MAX_IFNAME || /[\s/:]/.test(name)) {
    throw new Error(
      `invalid interface name ${JSON.stringify(name)}: 1-${MAX_IFNAME} chars, no spaces, '/' or ':'`,
    );
  }
}

function ipArgs(ns: NsName, args: string[]): string[] {
  return ns ? ['-n', ns, ...args] : args;
}

/** `ip [-n NS] ARGS...` */
export function ip(ns: NsName, ...args: string[]): Promise<RunResult> {
  return run('ip', ipArgs(ns, args));
}

export async function createNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await ip(name, 'link', 'set', 'lo', 'up');
}

/** Deletes a namespace (its interfaces go with it); no error if it is already gone. */
export async function deleteNamespace(name: string): Promise<void> {
  await tryRun('ip', ['netns', 'delete', name]);
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n): n is string => !!n);
}

/** PIDs of processes whose network namespace is `name`. */
export async function namespacePids(name: string): Promise<number[]> {
  const r = await tryRun('ip', ['netns', 'pids', name]);
  if (!r) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

export interface VethEnd {
  /** namespace the end lives in (ROOT_NS = null for the root namespace) */
  ns: NsName;
  /** interface name inside that namespace (<= 15 chars) */
  name: string;
  /** IPv4/IPv6 address with prefix length, e.g. "10.0.0.1/24" */
  address?: string;
  /** MAC address, e.g. "02:00:00:00:00:01" */
  mac?: string;
  mtu?: number;
}

/**
 * Creates a veth pair directly inside the two namespaces (no transient root-namespace names),
 * sets MACs/addresses, turns TX offload off on both ends and brings both up.
 */
export async function createVethPair(a: VethEnd, b: VethEnd): Promise<void> {
  assertIfName(a.name);
  assertIfName(b.name);
  const peerNs = b.ns ? ['netns', b.ns] : ['netns', '1'];
  await ip(a.ns, 'link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name, ...peerNs);
  for (const end of [a, b]) {
    if (end.mac) await ip(end.ns, 'link', 'set', end.name, 'address', end.mac);
    if (end.mtu) await ip(end.ns, 'link', 'set', end.name, 'mtu', String(end.mtu));
    await disableTxOffload(end.ns, end.name);
    if (end.address) await ip(end.ns, 'addr', 'add', end.address, 'dev', end.name);
    await ip(end.ns, 'link', 'set', end.name, 'up');
  }
}

export async function disableTxOffload(ns: NsName, dev: string): Promise<void> {
  const args = ['-K', dev, 'tx', 'off'];
  if (ns) await run('ip', ['netns', 'exec', ns, 'ethtool', ...args]);
  else await run('ethtool', args);
}

export async function deleteLink(ns: NsName, name: string): Promise<void> {
  await tryRun('ip', ipArgs(ns, ['link', 'delete', name]));
}

export async function listLinks(ns: NsName): Promise<string[]> {
  const { stdout } = await ip(ns, '-o', 'link', 'show');
  // "3: name@peer: <...>" -> name
  return stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);
}

export async function addAddress(ns: NsName, dev: string, cidr: string): Promise<void> {
  await ip(ns, 'addr', 'add', cidr, 'dev', dev);
}

export async function setLinkUp(ns: NsName, dev: string, up = true): Promise<void> {
  await ip(ns, 'link', 'set', dev, up ? 'up' : 'down');
}

/** `ip route add DEST [via GW] [dev DEV]`; DEST may be "default". */
export async function addRoute(
  ns: NsName,
  dest: string,
  opts: { via?: string; dev?: string },
): Promise<void> {
  const args = ['route', 'add', dest];
  if (opts.via) args.push('via', opts.via);
  if (opts.dev) args.push('dev', opts.dev);
  await ip(ns, ...args);
}

/** Runs a command inside a namespace (`ip netns exec NS CMD ARGS`), rejecting on non-zero exit. */
export function nsExec(
  ns: NsName,
  cmd: string,
  args: readonly string[] = [],
  opts: RunOptions = {},
): Promise<RunResult> {
  if (!ns) return run(cmd, args, opts);
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

export interface NsSpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** append stdout+stderr to this file (default: inherit nothing, output is discarded) */
  logFile?: string;
  /** 'pipe' to read stdout/stderr from the returned child (overrides logFile) */
  stdio?: 'pipe' | 'ignore';
}

/**
 * Starts a long-running command inside a namespace in its own session (setsid), so the whole
 * process group can be killed by the returned child's PID (`process.kill(-pid)`).
 */
export function nsSpawn(
  ns: NsName,
  cmd: string,
  args: readonly string[] = [],
  opts: NsSpawnOptions = {},
): ChildProcess {
  const argv = ns ? ['netns', 'exec', ns, cmd, ...args] : [cmd, ...args];
  const file = ns ? 'ip' : cmd;
  const fileArgs = ns ? argv : argv.slice(1);
  let stdio: SpawnOptions['stdio'] = 'ignore';
  let fd: number | undefined;
  if (opts.stdio === 'pipe') stdio = ['ignore', 'pipe', 'pipe'];
  else if (opts.logFile) {
    fd = openSync(opts.logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  try {
    return spawn(file, fileArgs, {
      detached: true,
      stdio,
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
