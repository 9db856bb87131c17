// Where a frame goes once mirrors are taken into account (table 1 flows and packet-outs).
// Frames FROM a mirrored port were already copied to its target by table 0, so the target is
// dropped from their list; frames TO a mirrored port also go to its target. Never out the in-port.

export interface MirrorPorts {
  sourcePort: number;
  targetPort: number;
}

export function mirrorOutputs(
  inPort: number,
  outPorts: readonly number[],
  mirrors: readonly MirrorPorts[],
): number[] {
  const out = outPorts.filter((p) => p !== inPort);
  const copiedAtIngress = new Set(mirrors.filter((m) => m.sourcePort === inPort).map((m) => m.targetPort));
  const result = out.filter((p) => !copiedAtIngress.has(p));
  for (const m of mirrors) {
    if (
      out.includes(m.sourcePort) &&
      m.targetPort !== inPort &&
      !copiedAtIngress.has(m.targetPort) &&
      !result.includes(m.targetPort)
    )
      result.push(m.targetPort);
  }
  return result;
}
