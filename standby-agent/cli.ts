#!/usr/bin/env node
// nonstop-agent. Its modules load compiled in full, before anything runs: see eager-compile.ts.
import { importEagerlyCompiled } from './eager-compile.js';

const { main } = await importEagerlyCompiled(() => import('./command.js'));

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`nonstop-agent: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
