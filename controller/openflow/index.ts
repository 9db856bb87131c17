// OpenFlow 1.3 codec. Usage:
//   const msg = decode(bytes);                  // one whole message -> OfpMessage (or OfpDecodeError)
//   const bytes = encode({ type: 'barrier_request', xid: 7 });
//   const framer = new OfpFramer(); for (const raw of framer.push(chunk)) handle(decode(raw));
// Builders: flowMod({...}) fills the defaults a controller usually wants; matchOf({ in_port: 1 }).
export * from './types.js';
export * from './constants.js';
export { decode, encode } from './codec.js';
export { OfpFramer } from './framer.js';
export { OfpDecodeError, OfpEncodeError } from './wire.js';
export { matchOf, isOpaqueOxm, knownOxmFields, ipv6Bytes, ipv6Text, oxmHeaderInfo } from './oxm.js';
export { ACTION_CODES, INSTRUCTION_CODES } from './actions.js';
export { flowMod, packetOut, output } from './builders.js';
