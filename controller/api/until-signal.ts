// The two daemons' shutdown: on SIGINT or SIGTERM, stop once, and give the exit code.
import type { Logger } from 'pino';

/** Resolves with 0 once a signal has run `stop`, 1 if it failed or took longer than `graceMs`. */
export function untilSignal(stop: () => Promise<void>, logger: Logger, graceMs = 5000): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      setTimeout(() => resolve(1), graceMs).unref();
      try {
        await stop();
        resolve(0);
      } catch (e) {
        logger.error({ err: e }, 'shutdown failed');
        resolve(1);
      }
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
  });
}
