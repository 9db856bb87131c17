// A capture-barrier marker sent by the controller itself (CaptureMarkerSpec): one PACKET_OUT
// put in a change's batch after the change and before its barrier, so the switch sends it out
// of the standby's port behind every frame it forwarded there before the change.
import { isIP } from 'node:net';
import { type CaptureMarkerSpec, InvalidRequestError, NotFoundError } from '../facade.js';
import { encodePacketOut, OFPP } from '../of-wire.js';
import { echoedBarrierFrame } from '../packets/barrier-marker.js';
import type { MessageBuilder, SwitchSession } from '../session.js';

/** The marker's PACKET_OUT; throws InvalidRequestError / NotFoundError before anything is sent. */
export function captureMarkerOut(session: SwitchSession, spec: CaptureMarkerSpec): MessageBuilder {
  if (typeof spec.ip !== 'string' || !isIP(spec.ip))
    throw new InvalidRequestError(`captureMarker.ip must be an IP address, got ${spec.ip}`);
  if (!Number.isInteger(spec.token) || spec.token < 0 || spec.token > 0xffffffff)
    throw new InvalidRequestError(`captureMarker.token must be 0..4294967295, got ${spec.token}`);
  const port = session.ports.get(spec.port);
  if (!port) throw new NotFoundError('port', `${session.dpid}:${spec.port}`);
  const frame = echoedBarrierFrame(port.hwAddr, spec.ip, spec.token);
  return (xid) => encodePacketOut(xid, OFPP.CONTROLLER, [{ type: 'output', port: spec.port }], frame);
}
