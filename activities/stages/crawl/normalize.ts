/**
 * The one spelling of a URL used for visited sets, ledger keys, snapshots and record ids. WHATWG parsing already
 * lowercases the scheme and host, drops default ports, resolves dot segments and percent-encodes; on top of that:
 * no fragment (it names a place in the same page), no tracking parameters, query parameters sorted by name (the
 * order of repeated names kept), percent-escapes of unreserved characters decoded and the others uppercased.
 */

/** Parameters that only say where a click came from; the page is the same without them. */
const TRACKING_EXACT = new Set([
  'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'fbclid', 'msclkid', 'yclid', 'twclid', 'ttclid', 'li_fat_id',
  'mc_cid', 'mc_eid', '_ga', '_gl', 'igshid', '_hsenc', '_hsmi', 'mkt_tok', 'oly_anon_id', 'oly_enc_id', 'vero_id',
  'srsltid', 'spm',
]);
const TRACKING_PREFIXES = ['utm_', 'pk_', 'mtm_'];

export function isTrackingParam(name: string): boolean {
  const n = name.toLowerCase();
  return TRACKING_EXACT.has(n) || TRACKING_PREFIXES.some((p) => n.startsWith(p));
}

/** Returns undefined for what a crawler cannot follow: not a URL, or not http(s). */
export function normalizeUrl(href: string, base?: string): string | undefined {
  let u: URL;
  try {
    u = new URL(href.trim(), base);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  u.hash = '';
  u.username = '';
  u.password = '';
  if (u.hostname.endsWith('.') && u.hostname.length > 1) u.hostname = u.hostname.slice(0, -1);
  u.pathname = normalizeEscapes(u.pathname);
  u.search = normalizeQuery(u.search);
  return u.toString();
}

/** Tracking parameters out, the rest sorted by name (stable: repeated names keep their order), raw spelling kept. */
function normalizeQuery(search: string): string {
  if (search.length <= 1) return '';
  const parts = search
    .slice(1)
    .split('&')
    .filter((p) => p !== '')
    .map((p) => normalizeEscapes(p))
    .filter((p) => !isTrackingParam(decodeSafe(p.split('=')[0])));
  const keyed = parts.map((p, i) => ({ p, i, k: p.split('=')[0] }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  return keyed.length ? `?${keyed.map((x) => x.p).join('&')}` : '';
}

/** RFC 3986 §6.2.2: `%7e` → `~`, `%2f` → `%2F`. */
function normalizeEscapes(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
