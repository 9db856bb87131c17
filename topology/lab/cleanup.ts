// Finding and removing what a crashed lab run left behind, by its prefix only.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryRun } from './exec.js';
import { LAB_DIR_PREFIX, PREFIX_RE, procStartTime } from './lab.js';
import { deleteNamespace, listLinks, listNamespaces, namespacePids } from './netns.js';
import { killPid, pidAlive, pidsWithCmdline, readPidFile } from './proc.js';

export interface Leftovers {
  namespaces: string[];
  links: string[];
  dirs: string[];
  pids: number[];
}

function assertPrefix(prefix: string): void {
  // a short or odd prefix could match things that are not ours
  if (!/^[a-z][a-z0-9]{5,11}$/.test(prefix))
    throw new Error(`refusing to clean up by unsafe prefix ${JSON.stringify(prefix)}`);
}

const startTime = procStartTime;

/** PIDs recorded by Lab.spawn and the OVS pidfiles under a lab dir, still alive and the same process. */
function pidsFromDir(dir: string): number[] {
  const out: number[] = [];
  try {
    for (const line of readFileSync(join(dir, 'pids'), 'utf8').split('\n')) {
      const [p, st] = line.trim().split(' ');
      const pid = Number(p);
      if (pid > 1 && pidAlive(pid) && (st === '?' || startTime(pid) === st)) out.push(pid);
    }
  } catch {
    // no processes recorded
  }
  try {
    for (const ovsDir of readFileSync(join(dir, 'ovs-dirs'), 'utf8').split('\n').filter(Boolean)) {
      for (const f of ['ovs-vswitchd.pid', 'ovsdb-server.pid']) {
        const pid = readPidFile(join(ovsDir, f));
        if (pid && pidAlive(pid)) out.push(pid);
      }
    }
  } catch {
    // no OVS
  }
  return out;
}

/** Everything that carries `prefix`: namespaces `${prefix}-*`, root links `${prefix}*`, temp dirs, processes. */
export async function findLeftovers(prefix: string, extraDirs: string[] = []): Promise<Leftovers> {
  assertPrefix(prefix);
  const namespaces = (await listNamespaces().catch(() => [] as string[])).filter((n) =>
    n.startsWith(`${prefix}-`),
  );
  const links = (await listLinks(null).catch(() => [] as string[])).filter((l) => l.startsWith(prefix));
  const tmp = tmpdir();
  const dirs = readdirSync(tmp)
    .filter((d) => d.startsWith(`${LAB_DIR_PREFIX}${prefix}-`))
    .map((d) => join(tmp, d));
  for (const d of extraDirs) if (existsSync(d)) dirs.push(d);
  const pids = new Set<number>();
  for (const ns of namespaces) for (const pid of await namespacePids(ns)) pids.add(pid);
  for (const d of dirs) for (const pid of pidsFromDir(d)) pids.add(pid);
  for (const pid of pidsWithCmdline(`${LAB_DIR_PREFIX}${prefix}-`)) pids.add(pid);
  for (const d of extraDirs) for (const pid of pidsWithCmdline(d)) pids.add(pid);
  pids.delete(process.pid);
  return { namespaces, links, dirs, pids: [...pids] };
}

/** Kills, deletes and removes every leftover of `prefix`; returns what it found. Never throws on cleanup steps. */
export async function cleanupPrefix(prefix: string, opts: { extraDirs?: string[] } = {}): Promise<Leftovers> {
  const found = await findLeftovers(prefix, opts.extraDirs);
  await Promise.all(found.pids.map((pid) => killPid(pid, { graceMs: 2000 }).catch(() => {})));
  for (const ns of found.namespaces) await deleteNamespace(ns);
  for (const l of found.links) await tryRun('ip', ['link', 'delete', l]);
  for (const d of found.dirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // keep going
    }
  }
  return found;
}

export function isEmpty(l: Leftovers): boolean {
  return !l.namespaces.length && !l.links.length && !l.dirs.length && !l.pids.length;
}

/**
 * Cleans up temp-dir labs whose owning process is gone (a test killed by SIGKILL or a timeout
 * never ran its teardown). Returns the prefixes it cleaned. Labs of live processes are untouched.
 */
export async function reapOrphanLabs(): Promise<string[]> {
  const tmp = tmpdir();
  const reaped: string[] = [];
  for (const d of readdirSync(tmp)) {
    if (!d.startsWith(LAB_DIR_PREFIX)) continue;
    const prefix = d.slice(LAB_DIR_PREFIX.length).split('-')[0];
    if (!PREFIX_RE.test(prefix)) continue;
    let owner: string;
    try {
      owner = readFileSync(join(tmp, d, 'owner'), 'utf8');
    } catch {
      continue; // not made by Lab.create with a temp dir (or still being created)
    }
    const [p, st] = owner.trim().split(' ');
    const pid = Number(p);
    if (pidAlive(pid) && (st === '?' || startTime(pid) === st)) continue;
    await cleanupPrefix(prefix).catch(() => {});
    reaped.push(prefix);
  }
  return reaped;
}
