// A private Open vSwitch: its own ovsdb-server and userspace ovs-vswitchd, run dir, database
// and logs under one directory, both daemons inside one dedicated network namespace (a
// userspace vswitchd creates the tap `ovs-netdev`, so only one may run per namespace).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, tryRun, waitFor } from './exec.js';
import { killPid, readPidFile } from './proc.js';

/** Receive buffer of the packet socket OVS reads each lab port through (see addPort). */
export const PORT_SOCKET_BUFFER = 8 << 20;
/** Serialises the brief change of the host default between labs (see withPortSocketBuffer). */
export const PORT_SOCKET_LOCK = '/run/nonstop-port-socket-buffer.lock';

export interface BridgeOptions {
  /** 16 hex digits; default: OVS derives one from the MAC */
  dpid?: string;
  /** default 'OpenFlow13' */
  protocols?: string;
  /** default 'secure' (no flows, no forwarding without a controller or ovs-ofctl flows) */
  failMode?: 'secure' | 'standalone';
  /** controller targets: 'tcp:IP:PORT', 'ssl:IP:PORT', 'unix:/path' */
  controllers?: string[];
}

export interface PortOptions {
  /** the OpenFlow port number to ask for */
  ofport?: number;
}

export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export class PrivateOvs {
  readonly dbSock: string;
  ovsdbPid: number | null = null;
  vswitchdPid: number | null = null;

  private constructor(
    /** directory holding conf.db, sockets, pidfiles, logs and BRIDGE.mgmt */
    readonly dir: string,
    /** network namespace both daemons run in */
    readonly namespace: string,
  ) {
    this.dbSock = join(dir, 'db.sock');
  }

  /** Environment that points OVS tools at this instance's private directories. */
  get env(): Record<string, string> {
    return { OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir, OVS_SYSCONFDIR: this.dir };
  }

  /** Starts ovsdb-server and ovs-vswitchd in `namespace` (which must exist). */
  static async start(dir: string, namespace: string): Promise<PrivateOvs> {
    mkdirSync(dir, { recursive: true });
    const ovs = new PrivateOvs(dir, namespace);
    const env = ovs.env;
    const db = join(dir, 'conf.db');
    await run('ovsdb-tool', ['create', db, OVS_SCHEMA], { env });
    await run(
      'ip',
      [
        'netns',
        'exec',
        namespace,
        'ovsdb-server',
        `--remote=punix:${ovs.dbSock}`,
        `--pidfile=${join(dir, 'ovsdb-server.pid')}`,
        `--unixctl=${join(dir, 'ovsdb-server.ctl')}`,
        `--log-file=${join(dir, 'ovsdb-server.log')}`,
        '--detach',
        db,
      ],
      { env },
    );
    ovs.ovsdbPid = readPidFile(join(dir, 'ovsdb-server.pid'));
    await ovs.vsctl('--no-wait', 'init');
    await run(
      'ip',
      [
        'netns',
        'exec',
        namespace,
        'ovs-vswitchd',
        `unix:${ovs.dbSock}`,
        `--pidfile=${join(dir, 'ovs-vswitchd.pid')}`,
        `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`,
        `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
        '--detach',
      ],
      { env, timeoutMs: 30_000 },
    );
    ovs.vswitchdPid = readPidFile(join(dir, 'ovs-vswitchd.pid'));
    return ovs;
  }

  /** `ovs-vsctl --db=unix:DIR/db.sock --timeout=20 ARGS` */
  async vsctl(...args: string[]): Promise<string> {
    const [cmd, ...argv] = this.vsctlCommand(args);
    const { stdout } = await run(cmd, argv, { env: this.env });
    return stdout;
  }

  private vsctlCommand(args: string[]): string[] {
    return ['ovs-vsctl', `--db=unix:${this.dbSock}`, '--timeout=20', ...args];
  }

  /** `ovs-appctl -t DIR/ovs-vswitchd.ctl ARGS` */
  async appctl(...args: string[]): Promise<string> {
    const { stdout } = await run('ovs-appctl', ['-t', join(this.dir, 'ovs-vswitchd.ctl'), ...args], {
      env: this.env,
    });
    return stdout;
  }

  /**
   * Where a controller for a `unix:` target must listen: OVS refuses unix controller sockets
   * outside its run dir ("possibility for remote exploit").
   */
  controllerSocket(name = 'controller.sock'): string {
    return join(this.dir, name);
  }

  /** The bridge's OpenFlow management socket (ovs-ofctl talks to it without a controller). */
  mgmtSocket(bridge: string): string {
    return join(this.dir, `${bridge}.mgmt`);
  }

  async addBridge(name: string, opts: BridgeOptions = {}): Promise<void> {
    const set = [
      'datapath_type=netdev',
      `protocols=${opts.protocols ?? 'OpenFlow13'}`,
      `fail_mode=${opts.failMode ?? 'secure'}`,
      // the management path never crosses the bridge; no hidden in-band flows
      'other-config:disable-in-band=true',
    ];
    if (opts.dpid) {
      if (!/^[0-9a-fA-F]{16}$/.test(opts.dpid))
        throw new Error(`dpid must be 16 hex digits, got ${opts.dpid}`);
      set.push(`other-config:datapath-id=${opts.dpid.toLowerCase()}`);
    }
    await this.vsctl('add-br', name, '--', 'set', 'bridge', name, ...set);
    if (opts.controllers?.length) await this.setController(name, opts.controllers);
    // the mgmt socket appears once vswitchd has configured the bridge
    await waitFor(`${name}.mgmt`, () =>
      tryRun('ovs-ofctl', ['-O', 'OpenFlow13', 'show', this.mgmtSocket(name)]),
    );
  }

  async addPort(bridge: string, iface: string, opts: PortOptions = {}): Promise<number> {
    const args = ['add-port', bridge, iface];
    if (opts.ofport !== undefined)
      args.push('--', 'set', 'interface', iface, `ofport_request=${opts.ofport}`);
    await this.withPortSocketBuffer(this.vsctlCommand(args));
    const ofport = Number((await this.vsctl('get', 'interface', iface, 'ofport')).trim());
    if (!(ofport > 0)) throw new Error(`port ${iface} on ${bridge} got no OpenFlow port number (${ofport})`);
    return ofport;
  }

  /**
   * Runs a command that adds ports with net.core.rmem_default raised to PORT_SOCKET_BUFFER, then
   * puts the old value back. The userspace datapath reads each port through a packet socket
   * that OVS never sizes itself, so it gets the default (208 KiB): under 1,000 connections its
   * main thread fell behind and that socket dropped 50,000 of the standby's frames in one
   * failover, and restored connections waited on retransmission timeouts. The value only sizes
   * sockets created meanwhile (these ports'); the default is not per network namespace, hence
   * the brief global change, serialised between processes by a lock file.
   */
  private async withPortSocketBuffer(command: string[]): Promise<void> {
    const script = [
      'old=$(cat /proc/sys/net/core/rmem_default)',
      `echo ${PORT_SOCKET_BUFFER} > /proc/sys/net/core/rmem_default`,
      '"$@"; rc=$?',
      'echo "$old" > /proc/sys/net/core/rmem_default',
      'exit $rc',
    ].join('\n');
    await run('flock', [PORT_SOCKET_LOCK, 'sh', '-c', script, 'sh', ...command], { env: this.env });
  }

  async deletePort(bridge: string, iface: string): Promise<void> {
    await this.vsctl('--if-exists', 'del-port', bridge, iface);
  }

  /**
   * Points the bridge at its controller(s): 'tcp:IP:PORT', 'ssl:IP:PORT', 'unix:/path' (inside the
   * run dir) or 'unix:NAME' (a relative name, resolved inside the run dir).
   */
  async setController(bridge: string, targets: string[]): Promise<void> {
    targets = targets.map((t) =>
      t.startsWith('unix:') && !t.startsWith('unix:/') ? `unix:${join(this.dir, t.slice(5))}` : t,
    );
    for (const t of targets) {
      if (!/^(tcp|ssl):[^:]+:\d+$|^unix:\/./.test(t) && !/^(tcp|ssl):\[[0-9a-fA-F:]+\]:\d+$/.test(t)) {
        throw new Error(`controller target must be tcp:IP:PORT, ssl:IP:PORT or unix:/path, got ${t}`);
      }
      if (t.startsWith('unix:') && dirname(t.slice(5)) !== this.dir) {
        throw new Error(
          `OVS only connects to unix controller sockets in its run dir: use ovs.controllerSocket() (${this.controllerSocket()}), got ${t}`,
        );
      }
    }
    await this.vsctl('set-controller', bridge, ...targets);
    // reconnect quickly when a test (re)starts its controller
    for (const uuid of await this.controllerUuids(bridge)) {
      await this.vsctl('set', 'controller', uuid, 'max_backoff=1000');
    }
  }

  private async controllerUuids(bridge: string): Promise<string[]> {
    const raw = (await this.vsctl('get', 'bridge', bridge, 'controller')).replace(/[[\]\s]/g, '');
    return raw ? raw.split(',') : [];
  }

  async deleteController(bridge: string): Promise<void> {
    await this.vsctl('del-controller', bridge);
  }

  /** Whether OVS reports the bridge's controller connection as up. */
  async controllerConnected(bridge: string): Promise<boolean> {
    for (const uuid of await this.controllerUuids(bridge)) {
      if ((await this.vsctl('get', 'controller', uuid, 'is_connected')).trim() === 'true') return true;
    }
    return false;
  }

  /** SSL settings for ssl: controller targets. */
  async setSsl(privateKey: string, certificate: string, caCert: string): Promise<void> {
    await this.vsctl('set-ssl', privateKey, certificate, caCert);
  }

  /** `ovs-ofctl -O OpenFlow13 CMD unix:DIR/BRIDGE.mgmt ARGS` */
  async ofctl(bridge: string, cmd: string, ...args: string[]): Promise<string> {
    const { stdout } = await run('ovs-ofctl', ['-O', 'OpenFlow13', cmd, this.mgmtSocket(bridge), ...args], {
      env: this.env,
    });
    return stdout;
  }

  async addFlow(bridge: string, flow: string): Promise<void> {
    await this.ofctl(bridge, 'add-flow', flow);
  }

  /** Flow lines of `dump-flows` (without the reply header), e.g. "cookie=0x0, ... actions=NORMAL". */
  async dumpFlows(bridge: string, ...args: string[]): Promise<string[]> {
    const out = await this.ofctl(bridge, 'dump-flows', ...args);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('OFPST_') && !l.startsWith('OFPT_'));
  }

  async dumpPortsDesc(bridge: string): Promise<string> {
    return this.ofctl(bridge, 'dump-ports-desc');
  }

  async dumpPorts(bridge: string, port?: string): Promise<string> {
    return port === undefined ? this.ofctl(bridge, 'dump-ports') : this.ofctl(bridge, 'dump-ports', port);
  }

  async show(bridge: string): Promise<string> {
    return this.ofctl(bridge, 'show');
  }

  /** Stops both daemons by PID (graceful, then SIGKILL). Never throws. */
  async stop(): Promise<void> {
    const vs = this.vswitchdPid ?? readPidFile(join(this.dir, 'ovs-vswitchd.pid'));
    const db = this.ovsdbPid ?? readPidFile(join(this.dir, 'ovsdb-server.pid'));
    if (vs) await killPid(vs, { graceMs: 3000 });
    if (db) await killPid(db, { graceMs: 2000 });
    this.vswitchdPid = null;
    this.ovsdbPid = null;
  }
}
