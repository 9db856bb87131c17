// The agent's client for the controller's REST API (over TCP or a unix socket: the agent runs
// in the standby's namespace, the controller usually elsewhere). Every call has a deadline;
// a controller that does not answer is an error, never a hang.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface ControllerEndpoint {
  /** http://host:port, or unix:/path/to/socket */
  url: string;
  token?: string;
  /** per call (default 2000 ms) */
  timeoutMs?: number;
  /** a kept connection idle this long is closed (default 4000 ms, well under the server's) */
  idleConnectionMs?: number;
}

export class ControllerError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 = no answer (unreachable, timeout) */
    readonly status: number,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ControllerError';
  }
}

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
  basePath: string;
}

function parseUrl(url: string): Target {
  if (url.startsWith('unix:')) return { socketPath: url.slice(5), basePath: '' };
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`controller URL must be http://... or unix:/path, got ${url}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 80),
    basePath: u.pathname.replace(/\/$/, ''),
  };
}

export interface MirrorRequest {
  dpid: string;
  sourcePort: number;
  targetPort: number;
  /** the controller fences sourcePort itself when its link goes down (and says so by a
   *  port-fenced event) */
  fenceOnLinkDown?: boolean;
}

export interface RedirectRequest {
  dpid: string;
  ip: string;
  fromPort: number;
  toPort: number;
  toMac: string;
}

export interface TcpResetRequest {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  seq: number;
  outPort?: number;
}

export interface PortStatusEvent {
  type: 'port-status';
  dpid: string;
  at: string;
  reason: string;
  port: { portNo: number; name: string; linkDown: boolean; adminDown: boolean };
}

/** The controller fenced a mirrored port whose link went down (MirrorRequest.fenceOnLinkDown). */
export interface PortFencedEvent extends Omit<PortStatusEvent, 'type'> {
  type: 'port-fenced';
}

/** an idle connection to the controller is closed after this long (well under the server's) */
const IDLE_CONNECTION_MS = 4000;

/** keepWarm() asks for the controller's health once a connection has been idle this share of its idle timeout */
export const KEEP_WARM_FRACTION = 0.4;

export class ControllerClient {
  private readonly target: Target;
  private readonly timeoutMs: number;
  /**
   * Connections are kept between requests: a failover's requests follow each other closely, and
   * on a kept connection a request is written at once. A fresh one is written only once its
   * connect completes, after whatever else the event loop has queued: measured, the redirect
   * reached the controller 16 ms after it was asked, behind the capture's backlog.
   */
  private readonly agent: http.Agent;
  private readonly idleMs: number;
  /** when the last request went out (performance time) */
  private lastRequestAt = 0;

  constructor(private readonly endpoint: ControllerEndpoint) {
    this.target = parseUrl(endpoint.url);
    this.timeoutMs = endpoint.timeoutMs ?? 2000;
    this.idleMs = endpoint.idleConnectionMs ?? IDLE_CONNECTION_MS;
    this.agent = new http.Agent({ keepAlive: true, timeout: this.idleMs });
  }

  /**
   * Keeps a connection to the controller open while nothing else uses one: a failover comes
   * after hours of quiet, and its first request (the fence, which everything waits for) would
   * otherwise wait for a connect first, written only after whatever else the event loop has
   * queued (measured at 1,000 connections: the fence reached the controller 3-9 ms after it was
   * asked on a new connection, 1-5 on a kept one). A GET /health goes out once the
   * connection has been idle for KEEP_WARM_FRACTION of its idle timeout. Returns a function
   * that stops it.
   */
  keepWarm(): () => void {
    const every = Math.max(10, Math.floor(this.idleMs * KEEP_WARM_FRACTION));
    const timer = setInterval(() => {
      if (performance.now() - this.lastRequestAt < every) return;
      this.request('GET', '/health').catch(() => {
        // unreachable now: the failover's own requests say so when it matters
      });
    }, every);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** closes the kept connections */
  close(): void {
    this.agent.destroy();
  }

  get url(): string {
    return this.endpoint.url;
  }

  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.send<T>(method, path, body, true);
  }

  private send<T>(method: string, path: string, body: unknown, retryStale: boolean): Promise<T> {
    this.lastRequestAt = performance.now();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.endpoint.token) headers.authorization = `Bearer ${this.endpoint.token}`;
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.target.socketPath,
          host: this.target.host,
          port: this.target.port,
          path: this.target.basePath + path,
          method,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString();
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = text;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(json as T);
            else {
              const msg = (json as { message?: string } | undefined)?.message ?? text;
              reject(
                new ControllerError(`controller ${method} ${path}: HTTP ${status} ${msg}`, status, json),
              );
            }
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(new ControllerError(`controller ${method} ${path}: no answer within ${this.timeoutMs} ms`, 0));
      }, this.timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // A kept connection the controller closed just as this request went out: the request
        // never reached it (no answer began), so it is sent once more, on a new connection.
        if (retryStale && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          this.send<T>(method, path, body, false).then(resolve, reject);
          return;
        }
        reject(new ControllerError(`controller ${method} ${path}: ${e.code ?? e.message}`, 0));
      });
      req.end(payload);
    });
  }

  addMirror(m: MirrorRequest): Promise<{ id: string }> {
    return this.request('POST', '/v1/mirrors', m);
  }

  removeMirror(id: string): Promise<unknown> {
    return this.request('DELETE', `/v1/mirrors/${encodeURIComponent(id)}`);
  }

  setPortState(dpid: string, port: number, state: 'down' | 'up' | 'bounce'): Promise<unknown> {
    return this.request('POST', `/v1/switches/${dpid}/ports/${port}/state`, { state });
  }

  addRedirect(r: RedirectRequest): Promise<{ id: string }> {
    return this.request('POST', '/v1/redirects', r);
  }

  tcpReset(dpid: string, r: TcpResetRequest): Promise<unknown> {
    return this.request('POST', `/v1/switches/${dpid}/tcp-reset`, r);
  }

  getSwitch(
    dpid: string,
  ): Promise<{ ports: Array<{ portNo: number; linkDown: boolean; adminDown: boolean; hwAddr: string }> }> {
    return this.request('GET', `/v1/switches/${dpid}`);
  }

  /**
   * Follows GET /v1/events (server-sent events) and calls `onEvent` for each event; reconnects
   * after `retryMs` when the stream ends. Returns a function that stops it.
   */
  followEvents(onEvent: (e: unknown) => void, onError?: (e: Error) => void, retryMs = 500): () => void {
    let stopped = false;
    let current: http.ClientRequest | undefined;
    let retry: NodeJS.Timeout | undefined;
    const connect = () => {
      if (stopped) return;
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (this.endpoint.token) headers.authorization = `Bearer ${this.endpoint.token}`;
      current = http.get(
        {
          socketPath: this.target.socketPath,
          host: this.target.host,
          port: this.target.port,
          path: `${this.target.basePath}/v1/events`,
          headers,
          agent: false,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            onError?.(new ControllerError(`controller events: HTTP ${res.statusCode}`, res.statusCode ?? 0));
            return;
          }
          res.setEncoding('utf8');
          let buf = '';
          res.on('data', (chunk: string) => {
            buf += chunk;
            let sep = buf.indexOf('\n\n');
            while (sep >= 0) {
              const block = buf.slice(0, sep);
              buf = buf.slice(sep + 2);
              const data = block
                .split('\n')
                .filter((l) => l.startsWith('data:'))
                .map((l) => l.slice(5).trimStart())
                .join('\n');
              if (data) {
                try {
                  onEvent(JSON.parse(data));
                } catch {
                  // not JSON: not an event we understand
                }
              }
              sep = buf.indexOf('\n\n');
            }
          });
          res.on('end', schedule);
        },
      );
      current.on('error', (e) => {
        onError?.(e);
        schedule();
      });
    };
    const schedule = () => {
      if (stopped || retry) return;
      retry = setTimeout(() => {
        retry = undefined;
        connect();
      }, retryMs);
    };
    connect();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      current?.destroy();
    };
  }
}

function isPortEvent(e: unknown, type: string): boolean {
  const x = e as PortStatusEvent;
  return (
    typeof x === 'object' && x !== null && x.type === type && typeof x.port === 'object' && x.port !== null
  );
}

export function isPortStatusEvent(e: unknown): e is PortStatusEvent {
  return isPortEvent(e, 'port-status');
}

export function isPortFencedEvent(e: unknown): e is PortFencedEvent {
  return isPortEvent(e, 'port-fenced');
}
