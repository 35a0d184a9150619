/**
 * Which URLs belong to a crawl. Patterns are globs over `host/path` (the port is part of the host when it is
 * not the default one): `*` stays inside one path segment, `**` crosses segments. An empty allow list means
 * "the seeds' hosts", so a crawl never wanders off-site unless the spec says so.
 */
export { normalizeUrl } from './normalize';

export interface UrlPolicyOptions {
  seeds: readonly string[];
  allow: readonly string[];
  deny: readonly string[];
}

export class UrlPolicy {
  private readonly allow: RegExp[];
  private readonly deny: RegExp[];

  constructor(opts: UrlPolicyOptions) {
    const allow = opts.allow.length ? opts.allow : [...new Set(opts.seeds.map((s) => `${new URL(s).host}/**`))];
    this.allow = allow.map(globToRegExp);
    this.deny = opts.deny.map(globToRegExp);
  }

  allows(url: string): boolean {
    const target = matchTarget(url);
    if (target === undefined) return false;
    return this.allow.some((r) => r.test(target)) && !this.deny.some((r) => r.test(target));
  }
}

function matchTarget(url: string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.host}${decodeURIComponentSafe(u.pathname)}`;
  } catch {
    return undefined;
  }
}

/** `host/**` also matches the bare host, since `https://host` has the path `/`. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
