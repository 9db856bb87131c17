// nonstop-controller's command: the OpenFlow 1.3 controller plus its REST API, in one process.
// Started by cli.ts, which sets V8 up first.
import { existsSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { untilSignal } from './api/until-signal.js';
import { formatListen, type ListenAddress, parseListen } from './api/listen.js';
import { buildApi } from './api/server.js';
import { Controller } from './controller.js';

const USAGE = `Usage: nonstop-controller [options]

The Nonstop OpenFlow 1.3 controller and its REST API.

Options:
  --of-listen HOST:PORT|unix:PATH   OpenFlow listener (default 0.0.0.0:6653)
  --api-listen HOST:PORT|unix:PATH  REST API listener (default 127.0.0.1:8080)
  --token TOKEN                     bearer token for mutating API calls (or env NONSTOP_API_TOKEN)
  --insecure-no-token               allow starting without a token (mutating calls unprotected)
  --tls-key FILE --tls-cert FILE    serve OpenFlow over TLS (switch target ssl:IP:PORT)
  --tls-ca FILE                     require switch certificates signed by this CA
  --log-level LEVEL                 fatal|error|warn|info|debug|trace (default info)
  -h, --help                        this text
`;

class UsageError extends Error {}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      'of-listen': { type: 'string', default: '0.0.0.0:6653' },
      'api-listen': { type: 'string', default: '127.0.0.1:8080' },
      token: { type: 'string' },
      'insecure-no-token': { type: 'boolean', default: false },
      'tls-key': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-ca': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(values['log-level']))
    throw new UsageError(`--log-level must be one of ${levels.join(', ')}`);
  const ofListen = wrap(() => parseListen(values['of-listen'], '--of-listen'));
  const apiListen = wrap(() => parseListen(values['api-listen'], '--api-listen'));
  const token = values.token ?? process.env.NONSTOP_API_TOKEN ?? undefined;
  if (!token && !values['insecure-no-token'] && !values.help) {
    throw new UsageError(
      'no API token: pass --token or set NONSTOP_API_TOKEN (or --insecure-no-token to leave mutating calls open)',
    );
  }
  if (Boolean(values['tls-key']) !== Boolean(values['tls-cert'])) {
    throw new UsageError('--tls-key and --tls-cert go together');
  }
  if (values['tls-ca'] && !values['tls-key']) throw new UsageError('--tls-ca needs --tls-key and --tls-cert');
  for (const f of ['tls-key', 'tls-cert', 'tls-ca'] as const) {
    const file = values[f];
    if (file && !existsSync(file)) throw new UsageError(`--${f}: no such file: ${file}`);
  }
  const tls = values['tls-key']
    ? { key: values['tls-key'], cert: values['tls-cert'] as string, ca: values['tls-ca'] }
    : undefined;
  return { help: values.help, ofListen, apiListen, token, tls, logLevel: values['log-level'] };
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A unix socket file left by a killed controller would make listen fail: remove it if nobody answers. */
async function clearStaleSocket(addr: ListenAddress): Promise<void> {
  if (!('path' in addr) || !existsSync(addr.path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(addr.path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`${addr.path}: another process is listening there`);
  unlinkSync(addr.path);
}

export async function main(): Promise<number> {
  let opts: ReturnType<typeof parse>;
  try {
    opts = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`nonstop-controller: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const logger = pino({ level: opts.logLevel, name: 'nonstop-controller' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (!opts.token) logger.warn('no API token: mutating REST calls are open to anyone who can reach the API');

  await clearStaleSocket(opts.ofListen);
  await clearStaleSocket(opts.apiListen);
  const controller = new Controller({ logger, registry, ofListen: opts.ofListen, tls: opts.tls });
  await controller.start();
  const api = await buildApi({
    controller,
    registry,
    token: opts.token,
    logger: logger.child({ part: 'api' }),
  });
  await api.listen('path' in opts.apiListen ? { path: opts.apiListen.path } : opts.apiListen);
  logger.info(
    { of: formatListen(opts.ofListen), api: formatListen(opts.apiListen), tls: Boolean(opts.tls) },
    'controller ready',
  );

  return untilSignal(async () => {
    await api.close();
    await controller.stop();
  }, logger);
}
