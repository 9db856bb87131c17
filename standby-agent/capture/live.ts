// Live capture with libpcap on the standby's mirror interface, through the agent's addon
// (native/src/capture.cc): frames come in batches of up to 128, one JS call each, in one reused
// buffer; each goes to the pipeline as is (no copy per frame), and the pipeline copies only the
// bytes it keeps. Between batches the event loop runs, so a burst on the mirror does not hold
// up the controller's events and answers.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BARRIER_ECHO_MAC } from '../../controller/packets/barrier-marker.js';
import { loadRepairAddon, type RepairAddon } from '../restore/repair-addon.js';

/** the batch buffer: 128 MTU-sized frames fit; a larger frame (offloads left on) opens a batch
 *  of its own */
const BATCH_BYTES = 256 * 1024;
/** a frame's header in the batch: caplen (u32), original length (u32), timestamp ms (f64) */
const RECORD_HEADER = 16;

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
   *  filter) */
  ifaceReceived: number;
  /** offloads could not be turned off: the ring holds ~30x fewer frames (see disableOffloads) */
  offloadsOn: boolean;
}

export class LiveCapture {
  private addon: RepairAddon | undefined;
  private id: number | undefined;
  private truncated = 0;
  private received = 0;
  private rxDroppedAtStart = 0;
  private rxPacketsAtStart = 0;
  private offloadsOff = false;

  constructor(private readonly opts: LiveCaptureOptions) {}

  /** `onFrame` gets the shared batch buffer and the frame's bytes [start, end) in it, valid until
   *  it returns, and the capture's timestamp (ms since the epoch) */
  start(onFrame: (buf: Buffer, start: number, end: number, tsMs: number) => void): void {
    this.offloadsOff = disableOffloads(this.opts.iface);
    this.rxDroppedAtStart = ifaceCounter(this.opts.iface, 'rx_dropped');
    this.rxPacketsAtStart = ifaceCounter(this.opts.iface, 'rx_packets');
    const addon = loadRepairAddon();
    const snaplen = this.opts.snaplen ?? 65535;
    const batch = Buffer.alloc(Math.max(BATCH_BYTES, RECORD_HEADER + snaplen + 8));
    this.id = addon.captureOpen(
      this.opts.iface,
      this.opts.filter,
      this.opts.bufferSize ?? 128 * 1024 * 1024,
      snaplen,
      batch,
      (count) => {
        let at = 0;
        for (let i = 0; i < count; i++) {
          const caplen = batch.readUInt32LE(at);
          if (caplen < batch.readUInt32LE(at + 4)) this.truncated++;
          const start = at + RECORD_HEADER;
          onFrame(batch, start, start + caplen, batch.readDoubleLE(at + 8));
          at = (start + caplen + 7) & ~7;
        }
        this.received += count;
      },
    );
    this.addon = addon;
  }

  /** pcap's kernel drops (the ring was full) and the interface's (its own rx_dropped counter
   *  since the start when pcap has none) */
  stats(): CaptureStats {
    const s = this.id === undefined ? undefined : this.addon?.captureStats(this.id);
    return {
      received: this.received,
      kernelDrops: s?.dropped ?? 0,
      ifaceDrops:
        s?.ifaceDropped || Math.max(0, ifaceCounter(this.opts.iface, 'rx_dropped') - this.rxDroppedAtStart),
      truncated: this.truncated,
      ifaceReceived: ifaceCounter(this.opts.iface, 'rx_packets') - this.rxPacketsAtStart,
      offloadsOn: !this.offloadsOff,
    };
  }

  stop(): void {
    if (this.id !== undefined) this.addon?.captureClose(this.id);
    this.id = undefined;
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
