// Reading topology files: by path, or by name from the shipped topology/ directory
// (`loadTopology('ha-basic')` reads topology/ha-basic.json).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTopology, type Topology } from './format.js';

export * from './format.js';

/** The source topology/ directory (also when running from dist/topology). */
export function topologyDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const d of [here, join(here, '..', '..', 'topology')]) {
    if (existsSync(join(d, 'schema.json'))) return d;
  }
  return here;
}

/** Resolves a topology argument: an existing path, or a shipped name like "ha-basic". */
export function resolveTopologyPath(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return resolve(nameOrPath);
  const shipped = join(topologyDir(), nameOrPath.endsWith('.json') ? nameOrPath : `${nameOrPath}.json`);
  if (existsSync(shipped)) return shipped;
  throw new Error(
    `topology "${nameOrPath}" not found (neither a file nor a shipped topology in ${topologyDir()})`,
  );
}

export function loadTopology(nameOrPath: string): Topology {
  const path = resolveTopologyPath(nameOrPath);
  return parseTopology(readFileSync(path, 'utf8'), path);
}
