// The declarative lab/deployment topology: switches, hosts with roles, the controller and the
// agent endpoints. Pure: parseTopology() validates text and returns a typed Topology or throws a
// TopologyError whose messages name the field path ("hosts[2].ip: must be ...") or, for JSON
// syntax errors, the line and column. topology/schema.json describes the same format.

export type HostRole = 'client' | 'service' | 'standby' | 'analyzer';
export const HOST_ROLES: readonly HostRole[] = ['client', 'service', 'standby', 'analyzer'];

export type ServiceType = 'nginx';
export const SERVICE_TYPES: readonly ServiceType[] = ['nginx'];

export interface ServiceSpec {
  type: ServiceType;
  /** TCP port the service listens on (default 80) */
  port: number;
}

export interface SwitchSpec {
  name: string;
  /** 16 hex digits, lowercase */
  dpid: string;
  /** OVS bridge name (<= 15 chars) */
  bridge: string;
}

export interface HostSpec {
  name: string;
  role: HostRole;
  /** IPv4 address with prefix length, e.g. "10.0.0.10/24" */
  ip: string;
  mac: string;
  /** switch name */
  switch: string;
  /** OpenFlow port number on that switch */
  port: number;
  services: ServiceSpec[];
  /** standby only: names of the service hosts it protects (default: every service host) */
  protects?: string[];
}

export interface ControllerSpec {
  /** OpenFlow listen address, HOST:PORT (in the switch's namespace in the lab) */
  ofListen: string;
  /** REST API: HOST:PORT or unix:PATH (relative paths are under the lab state dir) */
  apiListen: string;
}

export interface AgentSpec {
  /** the standby host the agent runs on */
  host: string;
  /** REST API: HOST:PORT or unix:PATH (relative paths are under the lab state dir) */
  apiListen: string;
}

export interface ManagementSpec {
  /** /30 for the controller<->agent veth between the switch and standby namespaces */
  subnet: string;
}

export interface Topology {
  name: string;
  description?: string;
  switches: SwitchSpec[];
  hosts: HostSpec[];
  controller: ControllerSpec;
  agent?: AgentSpec;
  management: ManagementSpec;
}

export class TopologyError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid topology:\n  ${problems.join('\n  ')}`);
    this.name = 'TopologyError';
  }
}

const NAME_RE = /^[a-z][a-z0-9]{0,9}$/;
const DPID_RE = /^[0-9a-fA-F]{16}$/;
const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
const IFNAME_RE = /^[a-zA-Z0-9_.-]{1,15}$/;

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isCidr4(s: string, maxPrefix = 32): boolean {
  const [addr, len, extra] = s.split('/');
  return extra === undefined && isIPv4(addr) && /^\d{1,2}$/.test(len ?? '') && Number(len) <= maxPrefix;
}

function isHostPort(s: string): boolean {
  const m = /^(.+):(\d{1,5})$/.exec(s);
  return (
    !!m &&
    Number(m[2]) > 0 &&
    Number(m[2]) < 65536 &&
    (isIPv4(m[1]) || m[1] === 'localhost' || /^\[[0-9a-fA-F:]+\]$/.test(m[1]))
  );
}

function isEndpoint(s: string): boolean {
  return (s.startsWith('unix:') && s.length > 5) || isHostPort(s);
}

/** 0-based character offset -> 1-based line and column. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/**
 * Offset of the first JSON syntax error in `text` (JSON.parse's messages do not always carry a
 * position on Node 20): a minimal recursive-descent scan, only used after JSON.parse failed.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (w: string) => {
    if (text.startsWith(w, i)) i += w.length;
    else fail();
  };
  const str = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        lit(':');
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else num();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (e) {
    if (typeof e === 'number') return e;
    throw e;
  }
  return text.length;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const where = lineColumn(text, jsonErrorOffset(text));
    const msg = (e as Error).message.replace(/\s+/g, ' ');
    throw new TopologyError(source, [
      `line ${where.line}, column ${where.column}: JSON syntax error: ${msg}`,
    ]);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and validates topology JSON text; `source` names the file in error messages. */
export function parseTopology(text: string, source = 'topology'): Topology {
  return validateTopology(parseJson(text, source), source);
}

/** Validates an already-parsed value. */
export function validateTopology(raw: unknown, source = 'topology'): Topology {
  const problems: string[] = [];
  const bad = (path: string, msg: string) => problems.push(`${path}: ${msg}`);
  if (!isObj(raw)) throw new TopologyError(source, ['(root): must be an object']);

  const allowed = (o: Obj, path: string, keys: string[]) => {
    for (const k of Object.keys(o))
      if (!keys.includes(k) && k !== '$schema') bad(path ? `${path}.${k}` : k, 'unknown field');
  };
  const str = (o: Obj, key: string, path: string, check?: (s: string) => string | null): string => {
    const v = o[key];
    const p = path ? `${path}.${key}` : key;
    if (typeof v !== 'string') {
      bad(p, v === undefined ? 'is required' : 'must be a string');
      return '';
    }
    const err = check?.(v);
    if (err) bad(p, err);
    return v;
  };

  allowed(raw, '', ['name', 'description', 'switches', 'hosts', 'controller', 'agent', 'management']);
  const name = str(raw, 'name', '', (s) =>
    /^[a-z0-9][a-z0-9-]{0,31}$/.test(s) ? null : 'must be lowercase letters, digits and "-" (max 32)',
  );
  const description = raw.description === undefined ? undefined : str(raw, 'description', '');

  const switches: SwitchSpec[] = [];
  if (!Array.isArray(raw.switches) || raw.switches.length === 0) bad('switches', 'must be a non-empty array');
  else
    raw.switches.forEach((s, i) => {
      const p = `switches[${i}]`;
      if (!isObj(s)) {
        bad(p, 'must be an object');
        return;
      }
      allowed(s, p, ['name', 'dpid', 'bridge']);
      const sw = {
        name: str(s, 'name', p, (v) => (NAME_RE.test(v) ? null : 'must match [a-z][a-z0-9]{0,9}')),
        dpid: str(s, 'dpid', p, (v) => (DPID_RE.test(v) ? null : 'must be 16 hex digits')).toLowerCase(),
        bridge:
          s.bridge === undefined
            ? 'br0'
            : str(s, 'bridge', p, (v) =>
                IFNAME_RE.test(v) ? null : 'must be an interface name of 1-15 chars',
              ),
      };
      if (switches.some((o) => o.name === sw.name)) bad(`${p}.name`, `duplicate switch name "${sw.name}"`);
      if (switches.some((o) => o.dpid === sw.dpid)) bad(`${p}.dpid`, `duplicate datapath id ${sw.dpid}`);
      switches.push(sw);
    });

  const hosts: HostSpec[] = [];
  if (!Array.isArray(raw.hosts) || raw.hosts.length === 0) bad('hosts', 'must be a non-empty array');
  else
    raw.hosts.forEach((h, i) => {
      const p = `hosts[${i}]`;
      if (!isObj(h)) {
        bad(p, 'must be an object');
        return;
      }
      allowed(h, p, ['name', 'role', 'ip', 'mac', 'switch', 'port', 'services', 'protects']);
      const host: HostSpec = {
        name: str(h, 'name', p, (v) => (NAME_RE.test(v) ? null : 'must match [a-z][a-z0-9]{0,9}')),
        role: str(h, 'role', p, (v) =>
          HOST_ROLES.includes(v as HostRole) ? null : `must be one of ${HOST_ROLES.join(', ')}`,
        ) as HostRole,
        ip: str(h, 'ip', p, (v) =>
          isCidr4(v, 30) ? null : 'must be an IPv4 address with prefix length, e.g. 10.0.0.1/24',
        ),
        mac: str(h, 'mac', p, (v) =>
          !MAC_RE.test(v)
            ? 'must be a MAC address like 02:00:00:00:00:01'
            : Number.parseInt(v.slice(0, 2), 16) & 1
              ? 'must be a unicast MAC'
              : null,
        ).toLowerCase(),
        switch: str(h, 'switch', p),
        port: 0,
        services: [],
      };
      if (!Number.isInteger(h.port) || (h.port as number) < 1 || (h.port as number) > 0xfeff)
        bad(`${p}.port`, 'must be an integer 1-65279');
      else host.port = h.port as number;
      if (host.switch && switches.length && !switches.some((s) => s.name === host.switch))
        bad(`${p}.switch`, `unknown switch "${host.switch}"`);
      if (h.services !== undefined) {
        if (!Array.isArray(h.services)) bad(`${p}.services`, 'must be an array');
        else
          h.services.forEach((sv, j) => {
            const sp = `${p}.services[${j}]`;
            if (!isObj(sv)) {
              bad(sp, 'must be an object');
              return;
            }
            allowed(sv, sp, ['type', 'port']);
            const type = str(sv, 'type', sp, (v) =>
              SERVICE_TYPES.includes(v as ServiceType) ? null : `must be one of ${SERVICE_TYPES.join(', ')}`,
            );
            const port = sv.port === undefined ? 80 : (sv.port as number);
            if (!Number.isInteger(port) || port < 1 || port > 65535)
              bad(`${sp}.port`, 'must be an integer 1-65535');
            host.services.push({ type: type as ServiceType, port });
          });
      }
      if (h.protects !== undefined) {
        if (!Array.isArray(h.protects) || h.protects.some((x) => typeof x !== 'string'))
          bad(`${p}.protects`, 'must be an array of host names');
        else host.protects = h.protects as string[];
      }
      if (hosts.some((o) => o.name === host.name)) bad(`${p}.name`, `duplicate host name "${host.name}"`);
      if (host.ip && hosts.some((o) => o.ip.split('/')[0] === host.ip.split('/')[0]))
        bad(`${p}.ip`, `duplicate address ${host.ip}`);
      if (host.mac && hosts.some((o) => o.mac === host.mac)) bad(`${p}.mac`, `duplicate MAC ${host.mac}`);
      if (host.port && hosts.some((o) => o.switch === host.switch && o.port === host.port)) {
        bad(`${p}.port`, `port ${host.port} of switch "${host.switch}" is already used`);
      }
      hosts.push(host);
    });

  hosts.forEach((h, i) => {
    if (h.protects) {
      if (h.role !== 'standby') bad(`hosts[${i}].protects`, 'only a standby host protects services');
      h.protects.forEach((n, j) => {
        const target = hosts.find((o) => o.name === n);
        if (!target) bad(`hosts[${i}].protects[${j}]`, `unknown host "${n}"`);
        else if (target.role !== 'service')
          bad(`hosts[${i}].protects[${j}]`, `host "${n}" is not a service host`);
        else if (target.switch !== h.switch)
          bad(`hosts[${i}].protects[${j}]`, `host "${n}" is on another switch`);
      });
    }
  });

  let controller: ControllerSpec = { ofListen: '127.0.0.1:6653', apiListen: 'unix:controller-api.sock' };
  if (raw.controller !== undefined) {
    if (!isObj(raw.controller)) bad('controller', 'must be an object');
    else {
      allowed(raw.controller, 'controller', ['ofListen', 'apiListen']);
      controller = {
        ofListen:
          raw.controller.ofListen === undefined
            ? controller.ofListen
            : str(raw.controller, 'ofListen', 'controller', (v) =>
                isHostPort(v) ? null : 'must be HOST:PORT',
              ),
        apiListen:
          raw.controller.apiListen === undefined
            ? controller.apiListen
            : str(raw.controller, 'apiListen', 'controller', (v) =>
                isEndpoint(v) ? null : 'must be HOST:PORT or unix:PATH',
              ),
      };
    }
  }

  let agent: AgentSpec | undefined;
  if (raw.agent !== undefined) {
    if (!isObj(raw.agent)) bad('agent', 'must be an object');
    else {
      allowed(raw.agent, 'agent', ['host', 'apiListen']);
      agent = {
        host: str(raw.agent, 'host', 'agent'),
        apiListen:
          raw.agent.apiListen === undefined
            ? 'unix:agent-api.sock'
            : str(raw.agent, 'apiListen', 'agent', (v) =>
                isEndpoint(v) ? null : 'must be HOST:PORT or unix:PATH',
              ),
      };
      const h = hosts.find((o) => o.name === agent?.host);
      if (agent.host && !h) bad('agent.host', `unknown host "${agent.host}"`);
      else if (h && h.role !== 'standby') bad('agent.host', `host "${agent.host}" is not a standby host`);
    }
  }

  let management: ManagementSpec = { subnet: '10.254.0.0/30' };
  if (raw.management !== undefined) {
    if (!isObj(raw.management)) bad('management', 'must be an object');
    else {
      allowed(raw.management, 'management', ['subnet']);
      management = {
        subnet: str(raw.management, 'subnet', 'management', (v) =>
          isCidr4(v) && v.endsWith('/30') ? null : 'must be an IPv4 /30, e.g. 10.254.0.0/30',
        ),
      };
    }
  }

  if (problems.length) throw new TopologyError(source, problems);
  return { name, description, switches, hosts, controller, agent, management };
}

// --- queries other components use to find their roles and ports ---

export function hostsByRole(t: Topology, role: HostRole): HostSpec[] {
  return t.hosts.filter((h) => h.role === role);
}

export function findHost(t: Topology, name: string): HostSpec {
  const h = t.hosts.find((o) => o.name === name);
  if (!h)
    throw new Error(
      `topology ${t.name}: no host "${name}" (hosts: ${t.hosts.map((o) => o.name).join(', ')})`,
    );
  return h;
}

export function switchOf(t: Topology, host: HostSpec): SwitchSpec {
  const s = t.switches.find((o) => o.name === host.switch);
  if (!s) throw new Error(`topology ${t.name}: host ${host.name} names unknown switch ${host.switch}`);
  return s;
}

/** The service hosts a standby protects (its `protects`, else every service host on its switch). */
export function protectedServices(t: Topology, standby: HostSpec): HostSpec[] {
  if (standby.protects) return standby.protects.map((n) => findHost(t, n));
  return t.hosts.filter((h) => h.role === 'service' && h.switch === standby.switch);
}

/** Address without its prefix length. */
export function addressOf(h: HostSpec): string {
  return h.ip.split('/')[0];
}

/** What the standby agent needs to protect one service: datapath, ports, addresses. */
export interface ProtectionPlan {
  dpid: string;
  service: HostSpec;
  standby: HostSpec;
  servicePort: number;
  standbyPort: number;
  analyzerPorts: number[];
}

export function protectionPlans(t: Topology): ProtectionPlan[] {
  const out: ProtectionPlan[] = [];
  for (const standby of hostsByRole(t, 'standby')) {
    const sw = switchOf(t, standby);
    const analyzers = t.hosts
      .filter((h) => h.role === 'analyzer' && h.switch === standby.switch)
      .map((h) => h.port);
    for (const service of protectedServices(t, standby)) {
      out.push({
        dpid: sw.dpid,
        service,
        standby,
        servicePort: service.port,
        standbyPort: standby.port,
        analyzerPorts: analyzers,
      });
    }
  }
  return out;
}
