#!/usr/bin/env node
// nonstop-agent: its modules load compiled in full (controller/eager-compile.ts), then its
// command (command.ts) runs.
import { compileEagerly } from '../controller/eager-compile.js';

compileEagerly();
const { main } = await import('./command.js');

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`nonstop-agent: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
