/**
 * robots.txt per origin, fetched once per attempt (RFC 9309): a 2xx is parsed (group `dapt`, else `*`), a 4xx
 * allows everything, and a 5xx or an unreachable server disallows everything for now. Besides the rules it
 * gives the host's Crawl-delay and the `Sitemap:` lines. With `respectRobotsTxt: false` it is still read for
 * its sitemaps, but its rules and Crawl-delay are ignored.
 */
import robotsParser from 'robots-parser';

/** The robots.txt group that applies to us (`User-agent: dapt`), falling back to `*`. */
export const ROBOTS_AGENT = 'dapt';

export interface RobotsFile {
  allows(url: string): boolean;
  /** Seconds, when the file asks for a pause between requests. */
  crawlDelaySecs?: number;
  sitemaps: string[];
  /** Why everything is disallowed, when the file could not be read. */
  unavailable?: string;
}

/** `status` 0 means no response (network error, timeout, refused target). */
export type RobotsLoader = (url: string) => Promise<{ status: number; body: string; error?: string }>;

export class RobotsCache {
  private readonly files = new Map<string, Promise<RobotsFile>>();

  constructor(
    private readonly load: RobotsLoader,
    private readonly respect: boolean,
  ) {}

  forUrl(url: string): Promise<RobotsFile> {
    const origin = new URL(url).origin;
    let file = this.files.get(origin);
    if (!file) {
      file = this.fetch(origin);
      this.files.set(origin, file);
    }
    return file;
  }

  private async fetch(origin: string): Promise<RobotsFile> {
    const url = `${origin}/robots.txt`;
    const res = await this.load(url);
    if (res.status >= 200 && res.status < 300) {
      const parsed = robotsParser(url, res.body);
      const delay = parsed.getCrawlDelay(ROBOTS_AGENT);
      return {
        allows: (u) => !this.respect || parsed.isAllowed(u, ROBOTS_AGENT) !== false,
        crawlDelaySecs: this.respect && delay !== undefined && delay > 0 ? delay : undefined,
        sitemaps: parsed.getSitemaps(),
      };
    }
    if (res.status >= 400 && res.status < 500) return { allows: () => true, sitemaps: [] };
    const why = res.status ? `robots.txt answered ${res.status}` : `robots.txt unreachable (${res.error ?? 'no response'})`;
    return this.respect ? { allows: () => false, sitemaps: [], unavailable: why } : { allows: () => true, sitemaps: [] };
  }
}
