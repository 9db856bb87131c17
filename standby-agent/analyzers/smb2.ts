// SMB2/3 over TCP 445: NetBIOS session-service length prefix, SMB2 headers (compound chains
// followed by NextCommand), requests and responses paired by MessageId, async interim replies
// (STATUS_PENDING) marked interim. Encrypted (transform header) or compressed SMB3 cannot be
// followed by a passive observer: the stream is then declared not analysable.
import { RecordStreamAnalyzer } from './record-analyzer.js';
import { RecordFramer } from './record-framer.js';
import type { AppMessage, Exchange, FifoLimits } from './types.js';

const COMMANDS = [
  'NEGOTIATE',
  'SESSION_SETUP',
  'LOGOFF',
  'TREE_CONNECT',
  'TREE_DISCONNECT',
  'CREATE',
  'CLOSE',
  'FLUSH',
  'READ',
  'WRITE',
  'LOCK',
  'IOCTL',
  'CANCEL',
  'ECHO',
  'QUERY_DIRECTORY',
  'CHANGE_NOTIFY',
  'QUERY_INFO',
  'SET_INFO',
  'OPLOCK_BREAK',
];
const STATUS_PENDING = 0x00000103;
const FLAG_RESPONSE = 0x1;
const FLAG_ASYNC = 0x2;
const PEEK = 4096;

class NetbiosFramer extends RecordFramer {
  protected parsePrefix(p: Buffer) {
    if (p[0] !== 0) return `NetBIOS message type 0x${p[0].toString(16)} is not a session message`;
    return { len: p.readUInt32BE(0) & 0xffffff, last: true };
  }
}

interface Header {
  command: number;
  status: number;
  flags: number;
  messageId: bigint;
}

function parseChain(rec: Buffer): Header[] | string {
  if (rec.length >= 4 && rec[1] === 0x53 && rec[2] === 0x4d && rec[3] === 0x42) {
    if (rec[0] === 0xfd) return 'encrypted SMB3 (transform header): not analysable';
    if (rec[0] === 0xfc) return 'compressed SMB3: not analysable';
    if (rec[0] === 0xff) return [{ command: 0, status: 0, flags: 0, messageId: 0n }]; // SMB1 negotiate
  }
  const out: Header[] = [];
  let o = 0;
  for (;;) {
    if (rec.length < o + 64) return out.length > 0 ? out : 'SMB2 header cut short';
    if (rec.readUInt32BE(o) !== 0xfe534d42) return 'not an SMB2 message';
    out.push({
      command: rec.readUInt16LE(o + 12),
      status: rec.readUInt32LE(o + 8),
      flags: rec.readUInt32LE(o + 16),
      messageId: rec.readBigUInt64LE(o + 24),
    });
    const next = rec.readUInt32LE(o + 20);
    if (next === 0) return out;
    o += next;
  }
}

export class Smb2Analyzer extends RecordStreamAnalyzer {
  readonly protocol = 'smb2' as const;
  private readonly pending = new Map<bigint, Exchange>();

  constructor(limits: FifoLimits) {
    super(
      limits,
      'picked up mid-stream: SMB2 message boundaries unknown',
      (h, peek) => new NetbiosFramer(4, peek, h),
      {
        request: PEEK,
        reply: PEEK,
      },
    );
  }

  protected onRequestRecord(start: number, rec: Buffer): void {
    const chain = parseChain(rec);
    if (typeof chain === 'string') {
      this.error ??= chain;
      return;
    }
    for (const h of chain) {
      if (h.flags & FLAG_RESPONSE) {
        this.error ??= 'an SMB2 response from the client side';
        return;
      }
      const name = COMMANDS[h.command] ?? `0x${h.command.toString(16)}`;
      const msg: AppMessage = {
        dir: 'toServer',
        start,
        end: start,
        summary: `SMB2 ${name}`,
        key: h.messageId.toString(),
        complete: false,
        details: { command: name },
      };
      const ex = this.log.addRequest(msg);
      if (h.command !== 12)
        this.pending.set(h.messageId, ex); // CANCEL gets no reply of its own
      else {
        msg.complete = true;
      }
      this.currentRequests.push(ex);
    }
  }

  protected onReplyRecord(start: number, rec: Buffer): void {
    const chain = parseChain(rec);
    if (typeof chain === 'string') {
      this.error ??= chain;
      return;
    }
    for (const h of chain) {
      const interim = (h.flags & FLAG_ASYNC) !== 0 && h.status === STATUS_PENDING;
      const name = COMMANDS[h.command] ?? `0x${h.command.toString(16)}`;
      const msg: AppMessage = {
        dir: 'toClient',
        start,
        end: start,
        summary: `SMB2 ${name} status 0x${h.status.toString(16).padStart(8, '0')}`,
        key: h.messageId.toString(),
        complete: false,
        interim,
        details: { command: name, status: h.status },
      };
      const ex = this.pending.get(h.messageId);
      if (ex && !interim) {
        this.pending.delete(h.messageId);
        this.log.setReply(ex, msg);
      }
      this.currentReplies.push({ ex, msg });
    }
  }
}
