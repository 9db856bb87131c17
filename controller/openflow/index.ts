// OpenFlow 1.3 (wire version 0x04) codec. Usage:
//   const msg = decode(bytes);      // exactly one whole message -> OfpMessage; bad input throws
//                                   // OfpDecodeError { msgType?, offset, reason } and nothing else
//   const bytes = encode({ type: 'barrier_request', xid: 7 });
//                                   // a value that does not fit its field throws OfpEncodeError
//   const framer = new OfpFramer(); for (const raw of framer.push(chunk)) handle(decode(raw));
// Builders (pure, return plain messages):
//   flowMod({ match, actions? | instructions?, ...overrides })  ADD, priority 0x8000, no buffer,
//     out_port/out_group ANY; `actions` become one apply_actions instruction
//   matchOf({ in_port: 1, eth_type: 0x0800, ipv4_dst: ['10.0.0.0', '255.0.0.0'] })  [value, mask]
//   output(port, max_len?)  max_len defaults to NO_BUFFER for OFPP_CONTROLLER, else 0
//   packetOut(frame, actions, in_port = OFPP_CONTROLLER)
// Names: errorName(type, code) / errorCode(typeName, codeName); OFPT / OFPMP code tables.
export * from './types.js';
export * from './constants.js';
export { decode, encode } from './codec.js';
export { OfpFramer } from './framer.js';
export { OfpDecodeError, OfpEncodeError } from './wire.js';
export { matchOf, isOpaqueOxm, knownOxmFields, ipv6Bytes, ipv6Text, oxmHeaderInfo } from './oxm.js';
export { ACTION_CODES, INSTRUCTION_CODES } from './actions.js';
export { flowMod, packetOut, output } from './builders.js';
