// Waiting for the agent's failover report in the e2e tests.
import { waitFor } from '../../topology/lab/index.js';
import type { FailoverReport } from '../../standby-agent/failover/report.js';
import { agentCall, type Scenario } from './lab-scenario.js';

export async function waitForReport(s: Scenario, timeoutMs = 15_000): Promise<FailoverReport> {
  const report = await waitFor(
    'failover report',
    async () => {
      const r = await agentCall(s, 'GET', '/v1/failovers/last');
      return r.status === 200 && (r.json as FailoverReport).outcome ? (r.json as FailoverReport) : undefined;
    },
    timeoutMs,
    50,
  );
  if (!report) throw new Error('no report');
  return report;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
