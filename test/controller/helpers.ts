// Shared pieces of the controller tests: a quiet controller on a lab switch's unix socket.
import pino from 'pino';
import { Registry } from 'prom-client';
import { Controller, type ControllerOptions } from '../../controller/controller.js';
import type { ControllerEvent } from '../../controller/facade.js';
import type { LabSwitch } from '../../topology/lab/index.js';

export const quietLogger = () => pino({ level: process.env.NONSTOP_TEST_LOG ?? 'silent' });

/** Waits for the first event matching `pred` (rejects after `ms`). */
export function nextEvent(
  c: Controller,
  pred: (e: ControllerEvent) => boolean,
  ms = 20_000,
): Promise<ControllerEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching controller event within ${ms} ms`));
    }, ms);
    const off = c.onEvent((e) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** A controller listening on the switch's unix socket, with the switch connected and resynced. */
export async function controllerFor(
  sw: LabSwitch,
  extra: Partial<ControllerOptions> = {},
  t?: { teardown(fn: () => unknown): void },
): Promise<Controller> {
  const c = new Controller({
    logger: quietLogger(),
    registry: new Registry(),
    ofListen: { path: sw.controllerSocket },
    echoIntervalMs: 1000,
    deadPeerTimeoutMs: 5000,
    ...extra,
  });
  await c.start();
  t?.teardown(() => c.stop());
  const connected = nextEvent(c, (e) => e.type === 'switch-connected');
  await sw.setController([`unix:${sw.controllerSocket}`]);
  await connected;
  return c;
}
