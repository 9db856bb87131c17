// JSON schemas shared by several route groups (the ones a single group owns live beside it).

export const dpidPattern = '^[0-9a-f]{16}$';

export const dpidParam = {
  type: 'object',
  required: ['dpid'],
  properties: { dpid: { type: 'string', pattern: dpidPattern, description: '16 hex digits, lowercase' } },
} as const;

export const errorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
    /** with 502: the switch and the OpenFlow error it answered with */
    dpid: { type: 'string' },
    ofError: { type: 'object', properties: { type: { type: 'string' }, code: { type: 'string' } } },
  },
} as const;

export const portSchema = {
  type: 'object',
  properties: {
    portNo: { type: 'integer' },
    name: { type: 'string' },
    hwAddr: { type: 'string' },
    adminDown: { type: 'boolean' },
    linkDown: { type: 'boolean' },
    currSpeedKbps: { type: 'integer' },
  },
} as const;

export const ipv4OrV6 = { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] } as const;
export const tcpPort = { type: 'integer', minimum: 1, maximum: 65535 } as const;
export const switchPort = { type: 'integer', minimum: 1, maximum: 0xffffff00 } as const;
export const macAddress = { type: 'string', pattern: '^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$' } as const;

/** Standard error responses for a route, by status. */
export function errors(...codes: number[]) {
  return Object.fromEntries(codes.map((c) => [c, errorSchema]));
}
