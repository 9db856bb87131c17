// The controller as the REST API (and tests) see it. The core implements ControllerFacade;
// the API layer only ever talks to this interface, so it can be tested against a fake.
// Datapath ids are 16-hex-digit lowercase strings at this boundary ("0000000000000001").

export type PortStateName = 'down' | 'up' | 'bounce';

export interface PortInfo {
  portNo: number;
  name: string;
  hwAddr: string;
  /** administratively down (OFPPC_PORT_DOWN) */
  adminDown: boolean;
  /** no physical link (OFPPS_LINK_DOWN) */
  linkDown: boolean;
  currSpeedKbps: number;
}

export interface SwitchInfo {
  dpid: string;
  address: string;
  connectedAt: string;
  nBuffers: number;
  nTables: number;
  ports: PortInfo[];
}

export interface FlowInfo {
  tableId: number;
  priority: number;
  cookie: string;
  packetCount: string;
  byteCount: string;
  durationSec: number;
  idleTimeout: number;
  hardTimeout: number;
  /** OXM fields as name -> value text (e.g. { in_port: '1', eth_dst: '02:00:00:00:00:01' }) */
  match: Record<string, string>;
  /** instructions/actions in ovs-ofctl-like text, e.g. ['output:2', 'group:1'] */
  actions: string[];
}

export interface MirrorSpec {
  dpid: string;
  sourcePort: number;
  targetPort: number;
  /** when the source port's link goes down, the controller fences it at once (PORT_MOD down,
   *  with a barrier) and says so with a port-fenced event, while anyone follows the events: the
   *  target's standby fails over on that link-down anyway, and need not wait for its own fence
   *  request to cross to the controller and back (see LinkDownFence) */
  fenceOnLinkDown?: boolean;
}

export interface Mirror extends MirrorSpec {
  id: string;
  createdAt: string;
  fenceOnLinkDown: boolean;
}

export interface TcpResetSpec {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** u32 sequence number of the RST (the receiver's rcv_nxt) */
  seq: number;
  /** switch port to send it out of; default: where dstIp's MAC was learnt */
  outPort?: number;
}

export interface TcpResetResult {
  outPort: number;
  /** the frame that was sent, hex, for the audit trail */
  frameHex: string;
}

export interface RedirectSpec {
  dpid: string;
  ip: string;
  fromPort: number;
  toPort: number;
  toMac: string;
}

export interface Redirect extends RedirectSpec {
  id: string;
  createdAt: string;
}

export type ControllerEvent =
  | { type: 'switch-connected'; dpid: string; at: string }
  | { type: 'switch-disconnected'; dpid: string; at: string; reason: string }
  | {
      type: 'port-status';
      dpid: string;
      at: string;
      reason: 'add' | 'delete' | 'modify';
      port: PortInfo;
    }
  | {
      /** the controller fenced a mirrored port whose link went down (MirrorSpec.fenceOnLinkDown):
       *  the PORT_MOD is applied (its barrier came back) */
      type: 'port-fenced';
      dpid: string;
      at: string;
      reason: 'link down';
      port: PortInfo;
    };

export interface ControllerFacade {
  listSwitches(): SwitchInfo[];
  /** throws NotFoundError */
  getSwitch(dpid: string): SwitchInfo;
  /** flow stats from the switch (multipart FLOW); throws NotFoundError */
  getFlows(dpid: string): Promise<FlowInfo[]>;

  listMirrors(): Mirror[];
  /** validates ports exist on the switch (NotFoundError) and installs with a barrier */
  addMirror(spec: MirrorSpec): Promise<Mirror>;
  /** throws NotFoundError */
  removeMirror(id: string): Promise<void>;

  tcpReset(dpid: string, spec: TcpResetSpec): Promise<TcpResetResult>;
  /** PORT_MOD; bounce = down, wait durationMs (default 1000), up. Resolves with the port after the change */
  setPortState(dpid: string, portNo: number, state: PortStateName, durationMs?: number): Promise<PortInfo>;

  listRedirects(): Redirect[];
  /** installed with a barrier: in force when the promise resolves */
  addRedirect(spec: RedirectSpec): Promise<Redirect>;
  removeRedirect(id: string): Promise<void>;

  /** subscribe to switch/port events; returns the unsubscribe function */
  onEvent(listener: (event: ControllerEvent) => void): () => void;
}

/** Unknown switch, port, mirror or redirect: the API answers 404. */
export class NotFoundError extends Error {
  constructor(
    readonly what: 'switch' | 'port' | 'mirror' | 'redirect',
    readonly id: string,
  ) {
    super(`unknown ${what} ${id}`);
    this.name = 'NotFoundError';
  }
}

/** Input that is well-formed JSON but makes no sense (e.g. same source and target port): 400. */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** The switch answered with an OpenFlow ERROR, or did not answer in time: 502. */
export class SwitchError extends Error {
  constructor(
    message: string,
    readonly dpid: string,
    readonly ofError?: { type: string; code: string },
  ) {
    super(message);
    this.name = 'SwitchError';
  }
}
