// Heartbeat probes of the service: a TCP connect, or an HTTP GET that must answer 2xx/3xx.
// Each resolves (never rejects) with a HeartbeatResult.
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HeartbeatResult } from './liveness-core.js';

export type HeartbeatTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'http'; url: string };

/** Parses `tcp://HOST:PORT`, `HOST:PORT` or `http://...`. */
export function parseHeartbeatTarget(text: string): HeartbeatTarget {
  if (text.startsWith('http://')) {
    new URL(text);
    return { kind: 'http', url: text };
  }
  const hp = text.replace(/^tcp:\/\//, '');
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hp);
  if (!m) throw new Error(`heartbeat target must be HOST:PORT, tcp://HOST:PORT or http://URL, got "${text}"`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`heartbeat port out of range in "${text}"`);
  return { kind: 'tcp', host: m[1], port };
}

export function probe(target: HeartbeatTarget, timeoutMs: number): Promise<HeartbeatResult> {
  return target.kind === 'tcp'
    ? tcpProbe(target.host, target.port, timeoutMs)
    : httpProbe(target.url, timeoutMs);
}

/**
 * The probe's deadline, robust to a stalled agent: a timer that fires late means this thread
 * was busy (a capture backlog, a GC), and the answer may be waiting unread. So a late timer
 * grants one more `timeoutMs`, and a timeout is only declared after the poll phase
 * (setImmediate), where an answer that has already arrived is read first. A silent service
 * still times out; a busy agent no longer declares a live service dead.
 */
function deadline(timeoutMs: number, onTimeout: () => void): { clear(): void } {
  const start = performance.now();
  let extended = false;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const fire = () => {
    const late = performance.now() - start - timeoutMs * (extended ? 2 : 1);
    if (!extended && late > timeoutMs / 2) {
      extended = true;
      timer = setTimeout(fire, timeoutMs);
      return;
    }
    immediate = setImmediate(onTimeout);
  };
  timer = setTimeout(fire, timeoutMs);
  return {
    clear() {
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}

export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<HeartbeatResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const socket = net.connect({ host, port });
    const finish = (ok: boolean, error?: string) => {
      if (done) return;
      done = true;
      timer.clear();
      socket.destroy();
      const atMs = performance.now();
      resolve({ ok, atMs, latencyMs: atMs - start, error });
    };
    const timer = deadline(timeoutMs, () => finish(false, 'timeout'));
    socket.once('connect', () => finish(true));
    socket.once('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
  });
}

export function httpProbe(url: string, timeoutMs: number): Promise<HeartbeatResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, error?: string) => {
      if (done) return;
      done = true;
      timer.clear();
      req.destroy();
      const atMs = performance.now();
      resolve({ ok, atMs, latencyMs: atMs - start, error });
    };
    const req = http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      finish(status >= 200 && status < 400, status >= 400 ? `HTTP ${status}` : undefined);
    });
    const timer = deadline(timeoutMs, () => finish(false, 'timeout'));
    req.once('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
  });
}
