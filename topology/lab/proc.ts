// Finding and stopping the lab's processes by PID (never by program name: other labs run
// the same programs on this machine).
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './exec.js';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a zombie still answers kill(0); treat it as gone
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    // already gone (or not a group leader)
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs` if still alive. With `group`, signals the process
 * group led by `pid` as well (processes started by nsSpawn lead their own group).
 */
export async function killPid(pid: number, opts: { graceMs?: number; group?: boolean } = {}): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return;
  const grace = opts.graceMs ?? 3000;
  if (opts.group) signal(pid, 'SIGTERM', true);
  signal(pid, 'SIGTERM', false);
  const deadline = Date.now() + grace;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(20);
  if (pidAlive(pid) || opts.group) {
    if (opts.group) signal(pid, 'SIGKILL', true);
    signal(pid, 'SIGKILL', false);
    const hard = Date.now() + 2000;
    while (pidAlive(pid) && Date.now() < hard) await sleep(20);
  }
}

/** Synchronous SIGKILL (process 'exit' handlers). */
export function killPidSync(pid: number, group = false): void {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return;
  if (group) signal(pid, 'SIGKILL', true);
  signal(pid, 'SIGKILL', false);
}

export function readPidFile(path: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** PIDs whose command line contains `needle` (e.g. a lab's private temp dir). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(needle)) out.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
