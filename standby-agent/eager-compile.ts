// V8 compiles a function the first time it is called, and drops the bytecode of functions left
// idle across major GCs (measured: 80 major GCs in 15 s dropped an idle module's functions, and
// their next call parsed them again). The failover's code runs once, hours after the agent
// started; compiled then, it cost the agent's thread 5-13 ms at the head of a failover of 1,000
// connections (V8's function events), stretched to 17 ms by the switch and the services on the
// same cores, before the fence request went out. So the agent's modules are compiled in full as
// they load, and no bytecode is dropped.
import { setFlagsFromString } from 'node:v8';

/**
 * Runs `load` (an `import()` of modules not loaded yet) with every function of those modules
 * compiled as they load, and turns V8's bytecode flushing off for the process. Code made
 * afterwards (fastify's and ajv's generated functions) compiles as usual.
 */
export async function importEagerlyCompiled<T>(load: () => Promise<T>): Promise<T> {
  setFlagsFromString('--no-flush-bytecode');
  setFlagsFromString('--no-lazy');
  try {
    return await load();
  } finally {
    setFlagsFromString('--lazy');
  }
}
