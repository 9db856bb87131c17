// The controller's Prometheus metrics, registered on the registry the REST API serves.
import { Counter, Gauge, type Registry } from 'prom-client';
import { FLOW_CMD, TYPE_NAMES } from './of-wire.js';

const FLOW_CMD_NAMES = Object.fromEntries(Object.entries(FLOW_CMD).map(([k, v]) => [v, k.toLowerCase()]));

export class ControllerMetrics {
  readonly switches: Gauge;
  private readonly messages: Counter<'type' | 'direction'>;
  private readonly errors: Counter<'type' | 'code'>;
  private readonly flowMods: Counter<'command'>;

  constructor(registry: Registry) {
    this.switches = new Gauge({
      name: 'nonstop_switches_connected',
      help: 'OpenFlow switches with a completed handshake',
      registers: [registry],
    });
    this.messages = new Counter({
      name: 'nonstop_openflow_messages_total',
      help: 'OpenFlow messages by type and direction (in: from switches, out: to switches)',
      labelNames: ['type', 'direction'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'nonstop_openflow_errors_total',
      help: 'OpenFlow ERROR messages received from switches, by error type and code',
      labelNames: ['type', 'code'],
      registers: [registry],
    });
    this.flowMods = new Counter({
      name: 'nonstop_flow_mods_total',
      help: 'FLOW_MOD messages sent, by command',
      labelNames: ['command'],
      registers: [registry],
    });
  }

  message(ofType: number, direction: 'in' | 'out', n = 1): void {
    this.messages.inc({ type: TYPE_NAMES[ofType] ?? `type_${ofType}`, direction }, n);
  }

  error(type: string, code: string): void {
    this.errors.inc({ type, code });
  }

  flowMod(command: number, n = 1): void {
    this.flowMods.inc({ command: FLOW_CMD_NAMES[command] ?? String(command) }, n);
  }
}
