// Live capture with libpcap (the `cap` package) on the standby's mirror interface. cap hands
// every packet in one reused buffer, so each frame is copied before it leaves this file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CapturedFrame } from './pcap-file.js';

const require = createRequire(import.meta.url);

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  setMinBytes?(n: number): void;
  on(event: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
  close(): void;
  stats?(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
}

export interface LiveCaptureOptions {
  iface: string;
  /** BPF filter, e.g. "tcp and host 10.0.0.10" */
  filter: string;
  /** kernel buffer, bytes (default 32 MiB: a failover burst must not drop) */
  bufferSize?: number;
  snaplen?: number;
}

export interface CaptureStats {
  received: number;
  kernelDrops: number;
  ifaceDrops: number;
  truncated: number;
}

export class LiveCapture {
  private cap: CapHandle | undefined;
  private truncated = 0;
  private received = 0;
  private rxDroppedAtStart = 0;

  constructor(private readonly opts: LiveCaptureOptions) {}

  start(onFrame: (frame: CapturedFrame) => void): void {
    this.rxDroppedAtStart = ifaceRxDropped(this.opts.iface);
    const { Cap } = require('cap') as { Cap: new () => CapHandle };
    const cap = new Cap();
    const buffer = Buffer.alloc(this.opts.snaplen ?? 65535);
    const linkType = cap.open(
      this.opts.iface,
      this.opts.filter,
      this.opts.bufferSize ?? 32 * 1024 * 1024,
      buffer,
    );
    if (linkType !== 'ETHERNET') {
      cap.close();
      throw new Error(`${this.opts.iface}: link type ${linkType}, expected ETHERNET`);
    }
    cap.setMinBytes?.(0); // deliver packets at once, not when the buffer fills
    cap.on('packet', (nbytes, truncated) => {
      this.received++;
      if (truncated) this.truncated++;
      onFrame({ tsMs: Date.now(), data: Buffer.from(buffer.subarray(0, nbytes)), origLen: nbytes });
    });
    this.cap = cap;
  }

  /** cap 0.2 exposes no pcap_stats: kernel drops are reported when a binding has them; the
   *  interface's own rx_dropped counter (since start) stands in for ifaceDrops. */
  stats(): CaptureStats {
    const s = this.cap?.stats?.();
    return {
      received: this.received,
      kernelDrops: s?.ps_drop ?? 0,
      ifaceDrops: s?.ps_ifdrop ?? Math.max(0, ifaceRxDropped(this.opts.iface) - this.rxDroppedAtStart),
      truncated: this.truncated,
    };
  }

  stop(): void {
    this.cap?.close();
    this.cap = undefined;
  }
}

/** "tcp and (host A or host B)" for the service addresses. */
export function serviceFilter(ips: string[]): string {
  const hosts = [...new Set(ips)].map((ip) => `host ${ip}`).join(' or ');
  return hosts ? `tcp and (${hosts})` : 'tcp';
}

function ifaceRxDropped(iface: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${iface}/statistics/rx_dropped`, 'utf8'));
  } catch {
    return 0;
  }
}
