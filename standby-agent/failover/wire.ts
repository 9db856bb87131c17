// Wiring the failover role into the agent: one call from the agent's start-up with its parsed
// flags, its connection table and its fastify app.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { failoverRoutes } from './api.js';
import { ControllerClient } from './controller-client.js';
import { type FailoverFlagValues, failoverSettings } from './options.js';
import { FailoverService, type FailoverServiceOptions, type VerdictSource } from './service.js';

export interface FailoverWiring {
  /** the agent's parsed flags (failoverFlags merged into its parseArgs options) */
  values: FailoverFlagValues;
  /** the agent's --service IP:PORT values */
  services: string[];
  /** the agent's own API token: protects POST /v1/failover, and is the controller token by default */
  token?: string;
  tracker: VerdictSource;
  app: FastifyInstance;
  /** the failover took the tracker's last view: the agent stops capturing */
  onTrackerDone?: () => void;
  /** the agent's capture barrier (Agent.captureBarrier) */
  drainCapture?: FailoverServiceOptions['drainCapture'];
  logger?: Logger;
}

/**
 * Validates the failover flags; when --controller is given, registers POST /v1/failover and
 * GET /v1/failovers/last on `app` (call before app.listen) and returns the service, started by
 * the caller with `await service.start()` once capture runs. Without --controller the routes
 * still answer (POST: 503, failover not configured) and undefined is returned.
 */
export async function wireFailover(w: FailoverWiring): Promise<FailoverService | undefined> {
  const settings = failoverSettings(w.values, w.services);
  if (!settings) {
    await w.app.register(failoverRoutes, {
      token: w.token,
      lastReport: () => undefined,
      failover: async (trigger) => ({
        id: 0,
        trigger: { kind: trigger.kind, forced: trigger.force === true, reason: trigger.reason },
        startedAt: new Date().toISOString(),
        durationMs: 0,
        outcome: 'aborted',
        error: 'failover is not configured: start the agent with --controller (see --help)',
        steps: [],
        connections: [],
        summary: { restored: 0, reset: 0, failed: 0 },
      }),
    });
    return undefined;
  }
  const controller = new ControllerClient({
    url: settings.controllerUrl,
    token: settings.controllerToken ?? w.token,
  });
  const service = new FailoverService({
    controller,
    tracker: w.tracker,
    dpid: settings.dpid,
    servicePort: settings.servicePort,
    standbyPort: settings.standbyPort,
    serviceIp: settings.serviceIp,
    localService: settings.localService,
    localPool: settings.localPool,
    localPoolMaxAgeMs: settings.localPoolMaxAgeMs,
    heartbeat: settings.heartbeat,
    autoFailover: settings.autoFailover,
    restoreEnabled: settings.restoreEnabled,
    mirror: settings.mirror,
    onTrackerDone: w.onTrackerDone,
    drainCapture: w.drainCapture,
    logger: w.logger,
  });
  await w.app.register(failoverRoutes, {
    token: w.token,
    failover: (trigger) => service.failover(trigger),
    lastReport: () => service.lastReport(),
  });
  return service;
}
