// TCP reset on command: a RST that appears to come from src, sent by PACKET_OUT to the port
// where dst sits (learnt from its traffic, or given).
import { isIP } from 'node:net';
import { InvalidRequestError, NotFoundError, type TcpResetResult, type TcpResetSpec } from '../facade.js';
import { encodePacketOut, OFPP } from '../of-wire.js';
import { buildTcpRst } from '../packets/tcp-rst.js';
import type { SwitchSession } from '../session.js';
import type { HostLocation } from './learning-switch.js';

export interface ResetContext {
  locate: (ip: string) => HostLocation | undefined;
}

function check(spec: TcpResetSpec): void {
  for (const k of ['srcIp', 'dstIp'] as const)
    if (typeof spec[k] !== 'string' || !isIP(spec[k]))
      throw new InvalidRequestError(`${k} must be an IP address, got ${spec[k]}`);
  if (isIP(spec.srcIp) !== isIP(spec.dstIp))
    throw new InvalidRequestError('srcIp and dstIp must be the same IP version');
  for (const k of ['srcPort', 'dstPort'] as const)
    if (!Number.isInteger(spec[k]) || spec[k] < 1 || spec[k] > 65535)
      throw new InvalidRequestError(`${k} must be 1..65535, got ${spec[k]}`);
  if (!Number.isInteger(spec.seq) || spec.seq < 0 || spec.seq > 0xffffffff)
    throw new InvalidRequestError(`seq must be 0..4294967295, got ${spec.seq}`);
}

export async function sendTcpReset(
  session: SwitchSession,
  spec: TcpResetSpec,
  ctx: ResetContext,
): Promise<TcpResetResult> {
  check(spec);
  const dst = ctx.locate(spec.dstIp);
  const outPort = spec.outPort ?? dst?.port;
  if (outPort === undefined) throw new InvalidRequestError(`no port known for ${spec.dstIp}: give outPort`);
  if (!session.ports.has(outPort)) throw new NotFoundError('port', `${session.dpid}:${outPort}`);
  if (!dst)
    throw new InvalidRequestError(`MAC address of ${spec.dstIp} not learnt yet; cannot address the RST`);
  // the receiver ignores eth_src; use src's real MAC when known so captures read naturally
  const srcMac = ctx.locate(spec.srcIp)?.mac ?? session.ports.get(outPort)?.hwAddr ?? '02:00:00:00:00:01';
  const frame = buildTcpRst({
    srcMac,
    dstMac: dst.mac,
    srcIp: spec.srcIp,
    dstIp: spec.dstIp,
    srcPort: spec.srcPort,
    dstPort: spec.dstPort,
    seq: spec.seq,
  });
  await session.batch([
    (xid) => encodePacketOut(xid, OFPP.CONTROLLER, [{ type: 'output', port: outPort }], frame),
  ]);
  return { outPort, frameHex: frame.toString('hex') };
}
