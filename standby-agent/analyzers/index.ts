// Application analyzers: one framer per protocol, chosen by the service port.
import { GenericAnalyzer } from './generic.js';
import { HttpAnalyzer } from './http.js';
import { OncRpcAnalyzer } from './oncrpc.js';
import { Smb2Analyzer } from './smb2.js';
import { DEFAULT_FIFO_LIMITS, type FifoLimits, type Protocol, type StreamAnalyzer } from './types.js';

export * from './types.js';

const DEFAULT_PORTS: Record<number, Protocol> = {
  80: 'http',
  8080: 'http',
  8000: 'http',
  111: 'oncrpc',
  2049: 'oncrpc',
  20048: 'oncrpc',
  139: 'smb2',
  445: 'smb2',
};

export function protocolForPort(port: number, overrides?: Record<number, Protocol>): Protocol {
  return overrides?.[port] ?? DEFAULT_PORTS[port] ?? 'generic';
}

export function createAnalyzer(protocol: Protocol, limits: FifoLimits = DEFAULT_FIFO_LIMITS): StreamAnalyzer {
  switch (protocol) {
    case 'http':
      return new HttpAnalyzer(limits);
    case 'oncrpc':
      return new OncRpcAnalyzer(limits);
    case 'smb2':
      return new Smb2Analyzer(limits);
    case 'generic':
      return new GenericAnalyzer();
  }
}
