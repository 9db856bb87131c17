// Runs a TypeScript fixture of this repository inside a network namespace a test made, and
// returns the JSON object it printed last (fixtures print their findings as one JSON line).
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function runFixtureInNamespace(
  ns: string,
  file: string,
  args: string[],
  timeoutMs = 30_000,
): Record<string, unknown> {
  const out = execFileSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(root, file), ...args],
    { cwd: root, encoding: 'utf8', timeout: timeoutMs },
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}
