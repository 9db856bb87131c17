// Live capture with libpcap (the `cap` package) on the standby's mirror interface. cap hands
// every packet in one reused buffer; it goes to the pipeline as is (no copy per packet), and
// the pipeline copies only the bytes it keeps.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BARRIER_ECHO_MAC } from '../../controller/packets/barrier-marker.js';

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
  /** kernel ring, bytes (default 128 MiB: libpcap slots are MTU-sized, so about 60,000 frames,
   *  0.7 s of a busy gigabit mirror the agent can fall behind by before a frame is lost) */
  bufferSize?: number;
  snaplen?: number;
}

export interface CaptureStats {
  received: number;
  kernelDrops: number;
  ifaceDrops: number;
  truncated: number;
  /** frames the interface received since the capture started (all of them, before the BPF
   *  filter): well above `received` while the traffic is all for the service means the
   *  capture ring overflowed (cap exposes no pcap_stats) */
  ifaceReceived: number;
  /** offloads could not be turned off: the ring holds ~30x fewer frames (see disableOffloads) */
  offloadsOn: boolean;
}

export class LiveCapture {
  private cap: CapHandle | undefined;
  private truncated = 0;
  private received = 0;
  private rxDroppedAtStart = 0;
  private rxPacketsAtStart = 0;
  private offloadsOff = false;

  constructor(private readonly opts: LiveCaptureOptions) {}

  /** `onFrame` gets the shared capture buffer and the frame's length: valid until it returns */
  start(onFrame: (buf: Buffer, len: number, tsMs: number) => void): void {
    this.offloadsOff = disableOffloads(this.opts.iface);
    this.rxDroppedAtStart = ifaceCounter(this.opts.iface, 'rx_dropped');
    this.rxPacketsAtStart = ifaceCounter(this.opts.iface, 'rx_packets');
    const { Cap } = require('cap') as { Cap: new () => CapHandle };
    const cap = new Cap();
    const buffer = Buffer.alloc(this.opts.snaplen ?? 65535);
    const linkType = cap.open(
      this.opts.iface,
      this.opts.filter,
      this.opts.bufferSize ?? 128 * 1024 * 1024,
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
      onFrame(buffer, nbytes, Date.now());
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
      ifaceDrops:
        s?.ps_ifdrop ?? Math.max(0, ifaceCounter(this.opts.iface, 'rx_dropped') - this.rxDroppedAtStart),
      truncated: this.truncated,
      ifaceReceived: ifaceCounter(this.opts.iface, 'rx_packets') - this.rxPacketsAtStart,
      offloadsOn: !this.offloadsOff,
    };
  }

  stop(): void {
    this.cap?.close();
    this.cap = undefined;
  }
}

/**
 * libpcap sizes every slot of its capture ring for the largest frame the interface may hand
 * over: 64 KiB when any segmentation or receive offload is on (as on a fresh veth), the MTU
 * otherwise. With offloads on, a 128 MiB ring holds only ~2,000 frames, a few milliseconds
 * of a busy mirror; with them off it holds ~60,000. A mirror port gains nothing from offloads,
 * so they are turned off (best effort: the agent runs as root, ethtool is installed).
 */
export function disableOffloads(iface: string): boolean {
  const r = spawnSync('ethtool', ['-K', iface, 'gro', 'off', 'gso', 'off', 'tso', 'off', 'lro', 'off'], {
    encoding: 'utf8',
    timeout: 5000,
  });
  // "Cannot change large-receive-offload" and the like are fine: that offload is already off
  return r.status === 0 || (r.status !== null && !/no such device|not found/i.test(r.stderr ?? ''));
}

/**
 * "tcp and (host A or host B)" for the service addresses. With `ownMac`, frames to or from that
 * MAC are left out, but the switch's echo of a capture barrier (to BARRIER_ECHO_MAC): the mirror
 * copies the service's frames as they are, so the standby's own MAC marks only its own traffic:
 * its heartbeats, and once it has taken over, the service's traffic it now serves itself. Left
 * in, each of those frames cost the agent's thread a call (measured: 120-140 ms of CPU in the
 * 300 ms after a takeover of 1,000 connections, while their replies went out).
 */
export function serviceFilter(ips: string[], ownMac?: string): string {
  const hosts = [...new Set(ips)].map((ip) => `host ${ip}`).join(' or ');
  const filter = hosts ? `tcp and (${hosts})` : 'tcp';
  if (!ownMac) return filter;
  return `${filter} and not ether dst ${ownMac} and (not ether src ${ownMac} or ether dst ${BARRIER_ECHO_MAC})`;
}

function ifaceCounter(iface: string, name: 'rx_dropped' | 'rx_packets'): number {
  try {
    return Number(readFileSync(`/sys/class/net/${iface}/statistics/${name}`, 'utf8'));
  } catch {
    return 0;
  }
}
