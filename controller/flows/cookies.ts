// Every flow the controller owns carries a cookie: 0x4e53 ("NS") in the top 16 bits, the owning
// app's kind in the next 8, an app-specific id below. Resync finds our flows by the top 16 bits
// and never touches anyone else's.

export const COOKIE_OWNER = 0x4e53n << 48n;
export const COOKIE_OWNER_MASK = 0xffffn << 48n;
export const COOKIE_KIND_MASK = 0xffffffn << 40n;

export const CookieKind = {
  pipeline: 1n,
  learning: 2n,
  mirror: 3n,
  redirect: 4n,
  bench: 5n,
} as const;
export type CookieKindName = keyof typeof CookieKind;

export function cookieFor(kind: CookieKindName, id = 0n): bigint {
  return COOKIE_OWNER | (CookieKind[kind] << 40n) | (id & 0xffffffffffn);
}

export function isOurs(cookie: bigint): boolean {
  return (cookie & COOKIE_OWNER_MASK) === COOKIE_OWNER;
}

export function cookieKindOf(cookie: bigint): CookieKindName | undefined {
  if (!isOurs(cookie)) return undefined;
  const k = (cookie >> 40n) & 0xffn;
  return (Object.keys(CookieKind) as CookieKindName[]).find((n) => CookieKind[n] === k);
}
