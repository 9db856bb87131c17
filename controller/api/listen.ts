// "HOST:PORT", "[v6]:PORT" or "unix:/path" -> where to listen. Unix sockets matter in labs:
// the switch and the agent live in other network namespaces but share the filesystem.
export type ListenAddress = { host: string; port: number } | { path: string };

export function parseListen(text: string, flag: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (!path) throw new Error(`${flag}: unix: needs a path`);
    return { path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new Error(`${flag}: expected HOST:PORT or unix:PATH, got "${text}"`);
  const port = Number(m[3]);
  if (port < 0 || port > 65535) throw new Error(`${flag}: port out of range in "${text}"`);
  return { host: m[1] ?? m[2], port };
}

export function formatListen(a: ListenAddress): string {
  return 'path' in a
    ? `unix:${a.path}`
    : a.host.includes(':')
      ? `[${a.host}]:${a.port}`
      : `${a.host}:${a.port}`;
}
