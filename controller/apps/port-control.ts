// Port administration by PORT_MOD: down, up, or bounce (down, wait, up). The fence of a failover.
import { InvalidRequestError, NotFoundError, type PortStateName } from '../facade.js';
import { encodePortMod, OFPPC_PORT_DOWN } from '../of-wire.js';
import type { SwitchSession } from '../session.js';

export const DEFAULT_BOUNCE_MS = 1000;
export const MAX_BOUNCE_MS = 600_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One PORT_MOD with a barrier. The switch has applied it when the barrier returns, so the port's
 * administrative bit is updated here rather than by asking for every port's description again:
 * a failover's fence waits for this call, and that round trip cost it 5-20 ms on a busy switch.
 * (The link state comes with the switch's PORT_STATUS.)
 */
async function portMod(session: SwitchSession, portNo: number, down: boolean): Promise<void> {
  const port = session.ports.get(portNo);
  if (!port) throw new NotFoundError('port', `${session.dpid}:${portNo}`);
  await session.batch([(xid) => encodePortMod(xid, portNo, port.hwAddr, down)]);
  const now = session.ports.get(portNo) ?? port;
  session.ports.set(portNo, {
    ...now,
    config: down ? now.config | OFPPC_PORT_DOWN : now.config & ~OFPPC_PORT_DOWN,
  });
}

/** Applies the change (with a barrier). */
export async function setPortState(
  session: SwitchSession,
  portNo: number,
  state: PortStateName,
  durationMs?: number,
): Promise<void> {
  if (!session.ports.has(portNo)) throw new NotFoundError('port', `${session.dpid}:${portNo}`);
  if (state === 'bounce') {
    const ms = durationMs ?? DEFAULT_BOUNCE_MS;
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_BOUNCE_MS)
      throw new InvalidRequestError(`durationMs must be 0..${MAX_BOUNCE_MS}, got ${ms}`);
    await portMod(session, portNo, true);
    await sleep(ms);
    await portMod(session, portNo, false);
  } else if (state === 'down' || state === 'up') {
    await portMod(session, portNo, state === 'down');
  } else {
    throw new InvalidRequestError(`state must be down, up or bounce, got ${String(state)}`);
  }
}
