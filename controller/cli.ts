#!/usr/bin/env node
// nonstop-controller: its modules load compiled in full (eager-compile.ts), then its command
// (command.ts) runs.
import { compileEagerly } from './eager-compile.js';

compileEagerly();
const { main } = await import('./command.js');

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`nonstop-controller: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
