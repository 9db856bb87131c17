// nonstop-controller as a process: usage errors, a real start on unix sockets, clean SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'controller/cli.ts');
const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: root,
    env: { ...process.env, NONSTOP_API_TOKEN: '', ...env },
    encoding: 'utf8',
    timeout: 30000,
  });

function getUnix(path: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: path, path: url }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

t.test('--help prints usage and exits 0', async (t) => {
  const r = node(['--help']);
  t.equal(r.status, 0);
  t.match(r.stdout, /Usage: nonstop-controller/);
  t.match(r.stdout, /--of-listen/);
});

t.test('usage errors exit 2 with the reason', async (t) => {
  let r = node(['--bogus', '--token', 'x']);
  t.equal(r.status, 2);
  t.match(r.stderr, /bogus/);
  r = node(['--api-listen', 'nonsense', '--token', 'x']);
  t.equal(r.status, 2);
  t.match(r.stderr, /HOST:PORT or unix:PATH/);
  r = node([]);
  t.equal(r.status, 2, 'no token and no --insecure-no-token');
  t.match(r.stderr, /no API token/);
  r = node(['--token', 'x', '--tls-key', '/nonexistent/key.pem', '--tls-cert', '/nonexistent/c.pem']);
  t.equal(r.status, 2);
  t.match(r.stderr, /no such file/);
});

t.test('starts on unix sockets, answers /health, stops cleanly on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-ctl-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const api = join(dir, 'api.sock');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, '--of-listen', `unix:${join(dir, 'of.sock')}`, '--api-listen', `unix:${api}`],
    { cwd: root, env: { ...process.env, NONSTOP_API_TOKEN: 'tok' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 200 && !out.includes('controller ready'); i++)
    await new Promise((r) => setTimeout(r, 50));
  t.match(out, /controller ready/);
  const health = await getUnix(api, '/health');
  t.equal(health.status, 200);
  t.same(JSON.parse(health.body), { status: 'ok', switches: 0 });
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit code 0 after SIGTERM');
});
