// The capture-barrier marker, shared by the standby agent (which sends it and waits for it) and
// the controller (whose mirror flows send it back to the agent). A TCP RST from the service
// address to itself, port 9 (discard) to port 9: no real connection looks like it. The agent
// sends it to its own MAC; the switch's echo flow rewrites the destination to ECHO_MAC and
// sends it back out of the port it came in by, so the agent tells the echo from its own copy.
import { buildTcpRst } from './tcp-rst.js';

export const BARRIER_PORT = 9;

/** Locally administered; "NS" then the port. */
export const BARRIER_ECHO_MAC = '02:4e:53:00:00:09';

/** The marker frame the agent sends out of `mac`'s interface; its sequence number is the token. */
export function barrierFrame(mac: string, ip: string, token: number): Buffer {
  return buildTcpRst({
    srcMac: mac,
    dstMac: mac,
    srcIp: ip,
    dstIp: ip,
    srcPort: BARRIER_PORT,
    dstPort: BARRIER_PORT,
    seq: token >>> 0,
  });
}
