// Both Nonstop processes (controller/cli.ts, standby-agent/cli.ts) call this before loading
// anything else. V8 compiles a function the first time it is called, and drops the bytecode of
// functions left idle across major GCs (measured: 80 major GCs in 15 s dropped an idle module's
// functions, and their next call parsed them again). A failover's code runs once, hours after
// start: compiled then, it cost the agent's thread 5-13 ms at the head of a failover of 1,000
// connections (V8's function events), stretched to 17 ms by the switch and the services on the
// same cores before the fence request went out. The controller compiled fastify's reply code, and
// the validators and serializers fastify generates (with `new Function`, which follows V8's
// --lazy-eval, not --lazy) at their first call, inside the fence and redirect requests (V8's
// log of the failover window: 11.4 ms of compiling).
import { setFlagsFromString } from 'node:v8';

/**
 * From now on, V8 compiles every function of a script as the script loads, and of generated
 * code (`new Function`, eval) as it is generated, and drops no bytecode. Modules imported before
 * the call are not affected: import the rest dynamically after it.
 */
export function compileEagerly(): void {
  setFlagsFromString('--no-flush-bytecode');
  setFlagsFromString('--no-lazy');
  setFlagsFromString('--no-lazy-eval');
}
