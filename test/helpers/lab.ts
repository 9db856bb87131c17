// A Lab bound to a tap test: destroyed in t.teardown, and also if the process exits or is
// interrupted before teardown runs, so a failing or killed test leaves nothing behind.
import { Lab, type LabOptions, reapOrphanLabs } from '../../topology/lab/index.js';

const live = new Set<Lab>();
let hooked = false;

function hookProcess(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const lab of live) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      void Promise.all([...live].map((l) => l.destroy())).finally(() =>
        process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)),
      );
    });
  }
}

interface TeardownHost {
  teardown(fn: () => unknown): void;
}

/** A fresh lab destroyed when `t` ends (pass the tap test object). */
export async function createTestLab(t: TeardownHost, opts: LabOptions = {}): Promise<Lab> {
  hookProcess();
  // leftovers of earlier test processes that were SIGKILLed before their teardown ran
  await reapOrphanLabs();
  const lab = await Lab.create(opts);
  live.add(lab);
  t.teardown(async () => {
    await lab.destroy();
    live.delete(lab);
  });
  return lab;
}

/** Runs `fn` with a fresh lab and destroys it afterwards (also when `fn` throws). */
export async function withLab<T>(t: TeardownHost, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await createTestLab(t);
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
    live.delete(lab);
  }
}
