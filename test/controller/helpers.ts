// Shared pieces of the controller tests: a quiet controller on a lab switch's unix socket.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Controller, type ControllerOptions } from '../../controller/controller.js';
import type { ControllerEvent } from '../../controller/facade.js';
import type { LabHost, LabProcess, LabSwitch } from '../../topology/lab/index.js';

export const quietLogger = () => pino({ level: process.env.NONSTOP_TEST_LOG ?? 'silent' });

/** Waits for the first event matching `pred` (rejects after `ms`). */
export function nextEvent(
  c: Controller,
  pred: (e: ControllerEvent) => boolean,
  ms = 20_000,
): Promise<ControllerEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching controller event within ${ms} ms`));
    }, ms);
    const off = c.onEvent((e) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** A controller listening on the switch's unix socket, with the switch connected and resynced. */
export async function controllerFor(
  sw: LabSwitch,
  extra: Partial<ControllerOptions> = {},
  t?: { teardown(fn: () => unknown): void },
): Promise<Controller> {
  const c = new Controller({
    logger: quietLogger(),
    registry: new Registry(),
    ofListen: { path: sw.controllerSocket },
    echoIntervalMs: 1000,
    deadPeerTimeoutMs: 5000,
    ...extra,
  });
  await c.start();
  t?.teardown(() => c.stop());
  const connected = nextEvent(c, (e) => e.type === 'switch-connected');
  await sw.setController([`unix:${sw.controllerSocket}`]);
  await connected;
  return c;
}

/** tcpdump on a host's interface into a pcap file; resolves once it is capturing. */
export async function startCapture(
  host: LabHost,
  file: string,
  filter: string,
): Promise<{ stop(): Promise<Buffer[]> }> {
  const proc = host.spawn(
    'tcpdump',
    ['-i', host.ifname, '-Z', 'root', '--immediate-mode', '-U', '-n', '-w', file, filter],
    { stdio: 'pipe' },
  );
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    proc.child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    async stop() {
      await sleep(300);
      await proc.stop();
      return readPcap(file);
    },
  };
}

/** The frames of a classic pcap file. */
export function readPcap(file: string): Buffer[] {
  const b = readFileSync(file);
  const frames: Buffer[] = [];
  if (b.length < 24) return frames;
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  let p = 24;
  while (p + 16 <= b.length) {
    const incl = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
    if (p + 16 + incl > b.length) break;
    frames.push(b.subarray(p + 16, p + 16 + incl));
    p += 16 + incl;
  }
  return frames;
}

/** The config line of one port in `ovs-ofctl dump-ports-desc` output. */
export function portConfig(desc: string, portNo: number): string {
  const lines = desc.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\s*${portNo}\\(`).test(l));
  return lines.slice(at + 1).find((l) => /^\s*config:/.test(l)) ?? '';
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A python TCP server on host:port that echoes each line; stays up until stopped. */
export function echoServer(host: LabHost, port: number): LabProcess {
  return host.spawn('python3', [
    '-c',
    `
import socket, threading
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${host.ip}', ${port})); s.listen(16)
def serve(c):
    f=c.makefile('rb')
    for line in f:
        c.sendall(line)
    c.close()
while True:
    c,_=s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`,
  ]);
}
