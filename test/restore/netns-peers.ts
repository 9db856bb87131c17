// Test helpers: a pair of network namespaces joined by a veth (unique per run, removed on
// teardown and on process exit) and peer processes driven inside them (fixtures/peer.ts).
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

export interface NsPair {
  prefix: string;
  client: string;
  service: string;
  clientIp: string;
  serviceIp: string;
  clientIp6: string;
  serviceIp6: string;
  destroy(): void;
}

const liveNs = new Set<string>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const ns of liveNs) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {}
    }
  });
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Two namespaces, `${prefix}c` (client) and `${prefix}s` (service), on a /24 of 10.x. */
export function createNsPair(): NsPair {
  hook();
  const prefix = `nsr${randomBytes(3).toString('hex')}`;
  const client = `${prefix}c`;
  const service = `${prefix}s`;
  const net2 = 100 + Math.floor(Math.random() * 150);
  const net3 = Math.floor(Math.random() * 250);
  const clientIp = `10.${net2}.${net3}.1`;
  const serviceIp = `10.${net2}.${net3}.2`;
  const v6 = `fd00:${net2.toString(16)}:${net3.toString(16)}`;
  const clientIp6 = `${v6}::1`;
  const serviceIp6 = `${v6}::2`;
  const destroy = () => {
    for (const ns of [client, service]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {}
      liveNs.delete(ns);
    }
  };
  try {
    for (const ns of [client, service]) {
      ip('netns', 'add', ns);
      liveNs.add(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip(
      'link',
      'add',
      `${prefix}a`,
      'netns',
      client,
      'type',
      'veth',
      'peer',
      'name',
      `${prefix}b`,
      'netns',
      service,
    );
    ip('-n', client, 'addr', 'add', `${clientIp}/24`, 'dev', `${prefix}a`);
    ip('-n', service, 'addr', 'add', `${serviceIp}/24`, 'dev', `${prefix}b`);
    ip('-n', client, 'addr', 'add', `${clientIp6}/64`, 'dev', `${prefix}a`, 'nodad');
    ip('-n', service, 'addr', 'add', `${serviceIp6}/64`, 'dev', `${prefix}b`, 'nodad');
    ip('-n', client, 'link', 'set', `${prefix}a`, 'up');
    ip('-n', service, 'link', 'set', `${prefix}b`, 'up');
  } catch (e) {
    destroy();
    throw e;
  }
  return { prefix, client, service, clientIp, serviceIp, clientIp6, serviceIp6, destroy };
}

export interface Peer {
  call<T = Record<string, unknown>>(cmd: Record<string, unknown>): Promise<T>;
  /** resolves when the process has exited */
  exited: Promise<number | null>;
  kill(): void;
}

const livePeers = new Set<ChildProcessWithoutNullStreams>();
process.on('exit', () => {
  for (const p of livePeers) p.kill('SIGKILL');
});

/** Starts fixtures/peer.ts inside `ns`. */
export function startPeer(ns: string): Peer {
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(here, 'fixtures', 'peer.ts')],
    {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  livePeers.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  const exited = new Promise<number | null>((res) =>
    child.on('exit', (code) => {
      livePeers.delete(child);
      for (const w of waiting.splice(0))
        w(JSON.stringify({ ok: false, error: { message: `peer exited: ${stderr}` } }));
      res(code);
    }),
  );
  return {
    call<T>(cmd: Record<string, unknown>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting.push((line) => {
          const answer = JSON.parse(line) as { ok: boolean; result?: T; error?: Record<string, unknown> };
          if (answer.ok) resolve(answer.result as T);
          else reject(Object.assign(new Error(String(answer.error?.message)), answer.error));
        });
        child.stdin.write(`${JSON.stringify(cmd)}\n`);
      });
    },
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}
