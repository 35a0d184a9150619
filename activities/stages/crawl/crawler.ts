/**
 * The Crawlee side of the crawl: a CheerioCrawler with in-memory storage (nothing under ./storage; the ledger
 * in the artifact store is what survives a crash), robots.txt, retries on 5xx/429/timeouts, the per-host gate
 * and the private-network guard on every request and redirect. It reports each finished page to `onPage`;
 * what is enqueued next is the session's business.
 */
import { CheerioCrawler, Configuration, Log, LogLevel, Logger, type CheerioCrawlingContext } from '@crawlee/cheerio';
import type { StageParams } from '../../../schemas/stages';
import { BlockedTargetError, isBlockedTarget, type NetworkGuard } from './network-guard';
import type { HostGate } from './host-gate';
import { failedEntry, pageEntry } from './extract';
import type { PageEntry } from './ledger';
import type { UrlPolicy } from './url-policy';

export const USER_AGENT = 'dapt-crawler/0.1 (+https://github.com/dapt)';
/** The robots.txt group that applies to us (`User-agent: dapt`), falling back to `*`. */
const ROBOTS_AGENT = 'dapt';

export interface CrawlerDeps {
  params: StageParams<'crawl'>;
  policy: UrlPolicy;
  guard: NetworkGuard;
  gate: HostGate;
  /** Pages (and requests) this crawler may still handle: maxPages minus those already in the ledger. */
  budget: number;
  /** How many hosts the frontier spans: global concurrency is per-host concurrency times this (capped). */
  hosts: number;
  log: (msg: string) => void;
  /** Called once per page the crawl is finished with; must make the entry durable before resolving. */
  onPage: (entry: PageEntry) => Promise<void>;
  onSkipped: (url: string, reason: string) => void;
}

/** Crawlee's finally-hook is the one place that runs for every attempt, so the host slot is freed there. */
class PoliteCheerioCrawler extends CheerioCrawler {
  constructor(
    options: ConstructorParameters<typeof CheerioCrawler>[0],
    config: Configuration,
    private readonly gate: HostGate,
  ) {
    super(options, config);
  }

  protected override async _cleanupContext(ctx: CheerioCrawlingContext): Promise<void> {
    this.gate.leave(ctx);
    await super._cleanupContext(ctx);
  }
}

export function createCrawler(d: CrawlerDeps): CheerioCrawler {
  const p = d.params;
  const depthOf = (ctx: { request: { userData: { depth?: number } } }): number => ctx.request.userData.depth ?? 0;
  const concurrency = Math.min(64, p.perHostConcurrency * Math.max(1, d.hosts));
  return new PoliteCheerioCrawler(
    {
      maxRequestsPerCrawl: d.budget,
      maxRequestRetries: p.maxRetries,
      navigationTimeoutSecs: p.requestTimeoutSecs,
      // Covers the wait for a host slot and the ledger write, not only the fetch.
      requestHandlerTimeoutSecs: p.requestTimeoutSecs * 2 + p.delayMs / 1000 + 30,
      minConcurrency: Math.min(concurrency, p.perHostConcurrency),
      maxConcurrency: concurrency,
      respectRobotsTxtFile: p.respectRobotsTxt ? { userAgent: ROBOTS_AGENT } : false,
      // Sessions rotate fingerprints to get past blocking; a polite crawler takes a 403 as an answer.
      useSessionPool: false,
      additionalHttpErrorStatusCodes: [429],
      log: new Log({ level: LogLevel.WARNING, prefix: 'crawl', logger: new ForwardingLogger(d.log) }),
      onSkippedRequest: ({ url, reason }) => d.onSkipped(url, reason),
      preNavigationHooks: [
        async (ctx, gotOptions) => {
          await d.guard.assert(ctx.request.url);
          await d.gate.enter(ctx, new URL(ctx.request.url).host);
          gotOptions.headers = { ...gotOptions.headers, 'user-agent': USER_AGENT };
          gotOptions.useHeaderGenerator = false;
          // A redirect is a new target: it must pass the same checks as a link would.
          gotOptions.hooks = {
            beforeRedirect: [
              async (next: { url?: URL | string }) => {
                const to = String(next.url);
                if (!d.policy.allows(to)) throw new BlockedTargetError(`redirect to ${to} leaves the allowed URLs`);
                await d.guard.assert(to);
              },
            ],
          };
        },
      ],
      postNavigationHooks: [
        (ctx) => {
          d.gate.leave(ctx);
        },
      ],
      requestHandler: async (ctx) => {
        const { request, $, body, response } = ctx;
        const hrefs = $('a[href]').map((_, el) => $(el).attr('href') ?? '').get();
        const finalUrl = request.loadedUrl && request.loadedUrl !== request.url ? request.loadedUrl : undefined;
        const page = { url: request.url, depth: depthOf(ctx), status: response.statusCode ?? 200, finalUrl, hrefs };
        const html = typeof body === 'string' ? body : body.toString('utf8');
        await d.onPage(pageEntry({ ...page, html, baseHref: $('base[href]').attr('href') }, d.policy, p.minChars));
      },
      errorHandler: (ctx, error) => {
        // Crawlee only sees got's wrapper of a refused redirect, which it would retry.
        if (isBlockedTarget(error)) ctx.request.noRetry = true;
      },
      failedRequestHandler: async (ctx, error) => {
        await d.onPage(failedEntry(ctx.request.url, depthOf(ctx), error, ctx.response?.statusCode));
      },
    },
    // In-memory request queue and stats, one set per crawl: stages sharing a worker must not share a queue.
    new Configuration({ persistStorage: false, purgeOnStart: true }),
    d.gate,
  );
}

/** Crawlee's log lines go to the stage log, so they reach the activity log and not only stdout. */
class ForwardingLogger extends Logger {
  constructor(private readonly sink: (msg: string) => void) {
    super({});
  }

  override _log(level: LogLevel, message: string): void {
    // Failure messages carry got's stack trace; the first line says what happened.
    this.sink(`crawlee ${LogLevel[level]}: ${message.split('\n')[0]}`);
  }
}
