// A small JSON-over-HTTP client for the controller and agent REST APIs (http://HOST:PORT or
// unix:/path/to/socket), with errors that say what went wrong in operator terms.
import http from 'node:http';

export type ApiErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'unauthorized'
  | 'not-found'
  | 'bad-request'
  | 'conflict'
  | 'server';

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    /** HTTP status, 0 when there was no answer */
    readonly status: number,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiEndpoint {
  /** what it is, for messages: "controller" or "agent" */
  name: string;
  /** http://HOST:PORT[/base] or unix:/path */
  url: string;
  token?: string;
  timeoutMs?: number;
}

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
  basePath: string;
}

export function parseEndpointUrl(url: string): Target {
  if (url.startsWith('unix:')) {
    if (url.length <= 5) throw new Error(`empty unix socket path in ${url}`);
    return { socketPath: url.slice(5), basePath: '' };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: ${url} (use http://HOST:PORT or unix:/path)`);
  }
  if (u.protocol !== 'http:') throw new Error(`unsupported URL ${url} (use http://HOST:PORT or unix:/path)`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 80),
    basePath: u.pathname.replace(/\/$/, ''),
  };
}

function messageOf(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; error?: unknown };
    if (typeof b.message === 'string') return b.message;
    if (typeof b.error === 'string') return b.error;
  }
  return typeof body === 'string' ? body.slice(0, 200) : '';
}

export class ApiClient {
  private readonly target: Target;

  constructor(readonly endpoint: ApiEndpoint) {
    this.target = parseEndpointUrl(endpoint.url);
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }

  delete<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** Sends a request; resolves with the parsed JSON body of a 2xx answer, else rejects with an ApiError. */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const { name, url, token } = this.endpoint;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const timeoutMs = this.endpoint.timeoutMs ?? 10_000;
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          method,
          path: this.target.basePath + path,
          socketPath: this.target.socketPath,
          host: this.target.host,
          port: this.target.port,
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text for the message
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve(parsed as T);
            const detail = messageOf(parsed);
            const what = `${name} ${method} ${path}`;
            if (status === 401 || status === 403) {
              reject(
                new ApiError(
                  'unauthorized',
                  `${what}: ${status} unauthorized${detail ? ` (${detail})` : ''}: set NONSTOP_API_TOKEN, --token, or "token" in ~/.config/nonstop/config.json`,
                  status,
                  parsed,
                ),
              );
            } else if (status === 404) {
              reject(
                new ApiError(
                  'not-found',
                  `${what}: 404 not found${detail ? `: ${detail}` : ''}`,
                  status,
                  parsed,
                ),
              );
            } else if (status === 400) {
              reject(
                new ApiError(
                  'bad-request',
                  `${what}: 400 bad request${detail ? `: ${detail}` : ''}`,
                  status,
                  parsed,
                ),
              );
            } else if (status === 409) {
              reject(
                new ApiError(
                  'conflict',
                  `${what}: 409 conflict${detail ? `: ${detail}` : ''}`,
                  status,
                  parsed,
                ),
              );
            } else {
              reject(
                new ApiError(
                  'server',
                  `${what}: HTTP ${status}${detail ? `: ${detail}` : ''}`,
                  status,
                  parsed,
                ),
              );
            }
          });
          res.on('error', (e) => reject(new ApiError('unreachable', `${name} at ${url}: ${e.message}`, 0)));
        },
      );
      req.setTimeout(timeoutMs, () => {
        req.destroy(new ApiError('timeout', `${name} at ${url} did not answer within ${timeoutMs} ms`, 0));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof ApiError) return reject(e);
        const hint =
          e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? ' (is it running? check the URL/socket)' : '';
        reject(
          new ApiError('unreachable', `cannot reach the ${name} at ${url}: ${e.code ?? e.message}${hint}`, 0),
        );
      });
      if (payload) req.end(payload);
      else req.end();
    });
  }
}
