// A fake OpenFlow 1.3 datapath for unit tests: connects to the controller, answers the
// handshake (features, port-desc, flow stats, barrier, echo) and records what it is sent.
import { connect, type Socket } from 'node:net';
import { OFPT, WireFramer } from '../../controller/of-wire.js';

export interface FakeSwitchOptions {
  path: string;
  dpid: bigint;
  ports?: number[];
  /** hello version byte and optional bitmap to offer (default 4 with a 1.3 bitmap) */
  helloVersion?: number;
  helloBitmap?: number | null;
  /** answer ECHO_REQUEST (default true) */
  answerEcho?: boolean;
  /** reply with an ERROR (type, code) to messages of this OpenFlow type */
  errorFor?: { ofType: number; errType: number; errCode: number };
}

function msg(type: number, xid: number, body: Buffer = Buffer.alloc(0), version = 4): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt8(version, 0);
  h.writeUInt8(type, 1);
  h.writeUInt16BE(8 + body.length, 2);
  h.writeUInt32BE(xid, 4);
  return Buffer.concat([h, body]);
}

function port(no: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(no, 0);
  Buffer.from([2, 0, 0, 0, 0, no & 0xff]).copy(b, 8);
  b.write(`p${no}`, 16, 'latin1');
  b.writeUInt32BE(10_000_000, 56);
  return b;
}

export class FakeSwitch {
  readonly socket: Socket;
  readonly received: Buffer[] = [];
  closed = false;
  private readonly framer = new WireFramer();

  constructor(private readonly opts: FakeSwitchOptions) {
    this.socket = connect(opts.path);
    this.socket.on('data', (c: Buffer) => {
      for (const m of this.framer.push(c)) this.onMessage(m);
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => {});
    const bitmap = opts.helloBitmap === undefined ? 1 << 4 : opts.helloBitmap;
    const body = bitmap === null ? Buffer.alloc(0) : Buffer.from([0, 1, 0, 8, ...u32(bitmap)]);
    this.socket.write(msg(OFPT.HELLO, 1, body, opts.helloVersion ?? 4));
  }

  ofTypes(): number[] {
    return this.received.map((m) => m.readUInt8(1));
  }

  send(buf: Buffer): void {
    this.socket.write(buf);
  }

  close(): void {
    this.socket.destroy();
  }

  private onMessage(m: Buffer): void {
    this.received.push(m);
    const type = m.readUInt8(1);
    const xid = m.readUInt32BE(4);
    const e = this.opts.errorFor;
    if (e && type === e.ofType) {
      const body = Buffer.alloc(4);
      body.writeUInt16BE(e.errType, 0);
      body.writeUInt16BE(e.errCode, 2);
      this.send(msg(OFPT.ERROR, xid, Buffer.concat([body, m.subarray(0, Math.min(64, m.length))])));
      return;
    }
    switch (type) {
      case OFPT.FEATURES_REQUEST: {
        const b = Buffer.alloc(24);
        b.writeBigUInt64BE(this.opts.dpid, 0);
        b.writeUInt32BE(0, 8);
        b.writeUInt8(254, 12);
        this.send(msg(OFPT.FEATURES_REPLY, xid, b));
        return;
      }
      case OFPT.MULTIPART_REQUEST: {
        const mp = m.readUInt16BE(8);
        const head = Buffer.alloc(8);
        head.writeUInt16BE(mp, 0);
        const body = mp === 13 ? Buffer.concat((this.opts.ports ?? [1, 2, 3]).map(port)) : Buffer.alloc(0);
        this.send(msg(OFPT.MULTIPART_REPLY, xid, Buffer.concat([head, body])));
        return;
      }
      case OFPT.BARRIER_REQUEST:
        this.send(msg(OFPT.BARRIER_REPLY, xid));
        return;
      case OFPT.ECHO_REQUEST:
        if (this.opts.answerEcho !== false) this.send(msg(OFPT.ECHO_REPLY, xid, m.subarray(8)));
        return;
    }
  }
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export { msg as ofMessage };
