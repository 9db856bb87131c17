// Port administration by PORT_MOD: down, up, or bounce (down, wait, up). The fence of a failover.
import { InvalidRequestError, NotFoundError, type PortStateName } from '../facade.js';
import { encodePortMod } from '../of-wire.js';
import type { SwitchSession } from '../session.js';

export const DEFAULT_BOUNCE_MS = 1000;
export const MAX_BOUNCE_MS = 600_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function portMod(session: SwitchSession, portNo: number, down: boolean): Promise<void> {
  const port = session.ports.get(portNo);
  if (!port) throw new NotFoundError('port', `${session.dpid}:${portNo}`);
  await session.batch([(xid) => encodePortMod(xid, portNo, port.hwAddr, down)]);
}

/** Applies the change (with a barrier) and refreshes the port list the switch reports. */
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
  await session.refreshPorts();
}
