// ONC RPC over TCP (RFC 5531): record marking with multi-fragment records, CALL/REPLY paired by
// xid (replies may come out of order); NFSv3 procedures named, file handles of calls that
// carry one kept in the exchange details.
import { RecordStreamAnalyzer } from './record-analyzer.js';
import { RecordFramer } from './record-framer.js';
import type { AppMessage, Exchange, FifoLimits } from './types.js';

const MAX_RECORD = 64 * 1024 * 1024;
const NFS_PROGRAM = 100003;
const NFS3_PROCS = [
  'NULL',
  'GETATTR',
  'SETATTR',
  'LOOKUP',
  'ACCESS',
  'READLINK',
  'READ',
  'WRITE',
  'CREATE',
  'MKDIR',
  'SYMLINK',
  'MKNOD',
  'REMOVE',
  'RMDIR',
  'RENAME',
  'LINK',
  'READDIR',
  'READDIRPLUS',
  'FSSTAT',
  'FSINFO',
  'PATHCONF',
  'COMMIT',
];
const PROGRAMS: Record<number, string> = { 100000: 'PORTMAP', 100003: 'NFS', 100005: 'MOUNT', 100021: 'NLM' };

class RpcRecordFramer extends RecordFramer {
  protected parsePrefix(p: Buffer) {
    const word = p.readUInt32BE(0);
    const len = word & 0x7fffffff;
    if (len > MAX_RECORD) return `RPC fragment of ${len} bytes is implausible`;
    return { len, last: (word & 0x80000000) !== 0 };
  }
}

export class OncRpcAnalyzer extends RecordStreamAnalyzer {
  readonly protocol = 'oncrpc' as const;
  private readonly pending = new Map<number, Exchange>();

  constructor(limits: FifoLimits) {
    super(
      limits,
      'picked up mid-stream: RPC record marking cannot be trusted',
      (h, peek) => new RpcRecordFramer(4, peek, h),
      {
        request: 256,
        reply: 32,
      },
    );
  }

  protected onRequestRecord(start: number, head: Buffer): void {
    if (head.length < 24) {
      this.error ??= 'RPC call record too short';
      return;
    }
    const xid = head.readUInt32BE(0);
    if (head.readUInt32BE(4) !== 0) {
      this.error ??= `expected an RPC CALL from the client (xid ${xid})`;
      return;
    }
    const prog = head.readUInt32BE(12);
    const vers = head.readUInt32BE(16);
    const proc = head.readUInt32BE(20);
    const details: Record<string, string | number> = { xid, program: prog, version: vers, procedure: proc };
    let summary = `${PROGRAMS[prog] ?? prog}${vers} proc ${proc}`;
    if (prog === NFS_PROGRAM && vers === 3) {
      const name = NFS3_PROCS[proc] ?? `proc ${proc}`;
      summary = `NFS3 ${name}`;
      const fh = proc > 0 ? firstFileHandle(head) : undefined;
      if (fh) details.fh = fh;
    }
    const request: AppMessage = {
      dir: 'toServer',
      start,
      end: start,
      summary,
      key: String(xid),
      complete: false,
      details,
    };
    const ex = this.log.addRequest(request);
    this.pending.set(xid, ex);
    this.currentRequests.push(ex);
  }

  protected onReplyRecord(start: number, head: Buffer): void {
    if (head.length < 8) {
      this.error ??= 'RPC reply record too short';
      return;
    }
    const xid = head.readUInt32BE(0);
    if (head.readUInt32BE(4) !== 1) {
      this.error ??= `expected an RPC REPLY from the service (xid ${xid})`;
      return;
    }
    const ex = this.pending.get(xid);
    const reply: AppMessage = {
      dir: 'toClient',
      start,
      end: start,
      summary: head.length >= 12 && head.readUInt32BE(8) === 0 ? 'accepted' : 'denied',
      key: String(xid),
      complete: false,
    };
    this.currentReplies.push({ ex, msg: reply });
    if (ex) {
      this.pending.delete(xid);
      this.log.setReply(ex, reply);
    }
  }
}

/** The nfs_fh3 after the credential and verifier of a call: hex, or undefined if cut short. */
function firstFileHandle(head: Buffer): string | undefined {
  let o = 24;
  for (let i = 0; i < 2; i++) {
    if (head.length < o + 8) return undefined;
    const len = head.readUInt32BE(o + 4);
    o += 8 + ((len + 3) & ~3);
  }
  if (head.length < o + 4) return undefined;
  const fhLen = head.readUInt32BE(o);
  if (fhLen === 0 || fhLen > 64 || head.length < o + 4 + fhLen) return undefined;
  return head.subarray(o + 4, o + 4 + fhLen).toString('hex');
}
