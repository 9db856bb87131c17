// HTTP/1.1 keep-alive client for the demo, run inside a client namespace: N long-lived TCP
// connections, each sending `GET /who` in a loop; every event goes to stdout as one JSON line.
// Raw sockets (not http.Agent) so each logical connection is exactly one TCP connection and a
// reset or close is seen, never hidden by a silent reconnect.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    connections: { type: 'string', default: '2' },
    'interval-ms': { type: 'string', default: '50' },
    'timeout-ms': { type: 'string', default: '20000' },
    name: { type: 'string', default: 'client' },
  },
});
if (!values.target) {
  process.stderr.write(
    'usage: demo-client --target IP:PORT [--connections N] [--interval-ms MS] [--name NAME]\n',
  );
  process.exit(2);
}
const [host, portText] = values.target.split(':');
const port = Number(portText);
const interval = Number(values['interval-ms']);
const replyTimeout = Number(values['timeout-ms']);
const emit = (o: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ t: Date.now(), client: values.name, ...o })}\n`);

let stopping = false;

function runConnection(id: number): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    let seq = 0;
    let sentAt = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (ev: Record<string, unknown>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      emit({ conn: id, ...ev });
      sock.destroy();
      resolve();
    };
    const send = () => {
      if (stopping) return finish({ ev: 'stopped', requests: seq });
      seq++;
      sentAt = Date.now();
      sock.write(`GET /who HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: nonstop-demo\r\n\r\n`);
      clearTimeout(timer);
      timer = setTimeout(() => finish({ ev: 'timeout', seq, waitedMs: Date.now() - sentAt }), replyTimeout);
    };
    sock.setNoDelay(true);
    sock.on('connect', () => {
      emit({ conn: id, ev: 'open', localPort: sock.localPort });
      send();
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = buf
          .subarray(end + 4, end + 4 + len)
          .toString('utf8')
          .trim();
        buf = buf.subarray(end + 4 + len);
        const status = Number(head.split(' ')[1]);
        const servedBy = /x-served-by:\s*(\S+)/i.exec(head)?.[1] ?? body;
        clearTimeout(timer);
        emit({
          conn: id,
          ev: 'reply',
          seq,
          status,
          servedBy,
          ms: Date.now() - sentAt,
          localPort: sock.localPort,
        });
        setTimeout(send, interval);
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ ev: 'error', code: e.code ?? e.message, seq }));
    sock.on('close', () => finish({ ev: stopping ? 'stopped' : 'closed', seq }));
  });
}

const n = Number(values.connections);
const all = Array.from({ length: n }, (_, i) => runConnection(i));
process.on('SIGTERM', () => {
  stopping = true;
  // a connection stuck waiting for a reply ends now
  setTimeout(() => process.exit(0), 500).unref();
});
await Promise.all(all);
process.exit(0);
