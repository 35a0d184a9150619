/**
 * The Scrapy side of `bench:crawl`: a pinned Scrapy in its own virtualenv (created on first use under
 * ~/.cache/dapt/bench-venv-crawl) and a spider doing what a corpus spider does — obey robots.txt, follow every
 * link, and yield url, title and the text of <main> for each page to a JSON Lines feed.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SCRAPY_VERSION = '2.19.0';
const VENV = path.join(os.homedir(), '.cache', 'dapt', 'bench-venv-crawl');
const PYTHON = path.join(VENV, 'bin', 'python');

const SPIDER = `
import json, sys, time
import scrapy
from scrapy.crawler import CrawlerProcess

seed, concurrency, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class CorpusSpider(scrapy.Spider):
    name = 'corpus'
    start_urls = [seed]
    def parse(self, response):
        yield {'url': response.url, 'title': response.css('title::text').get(),
               'text': ' '.join(t.strip() for t in response.css('main ::text').getall() if t.strip())}
        for href in response.css('a::attr(href)').getall():
            yield response.follow(href, self.parse)

process = CrawlerProcess({
    'LOG_LEVEL': 'ERROR', 'TELNETCONSOLE_ENABLED': False, 'ROBOTSTXT_OBEY': True, 'DEPTH_LIMIT': 10,
    'CONCURRENT_REQUESTS': concurrency, 'CONCURRENT_REQUESTS_PER_DOMAIN': concurrency, 'DOWNLOAD_DELAY': 0,
    'FEEDS': {out: {'format': 'jsonlines', 'overwrite': True}},
})
crawler = process.create_crawler(CorpusSpider)
process.crawl(crawler)
started = time.perf_counter()
process.start()
secs = time.perf_counter() - started
stats = crawler.stats.get_stats()
print(json.dumps({'secs': secs, 'pages': stats.get('item_scraped_count', 0), 'responses': stats.get('response_received_count', 0)}))
`;

function installedVersion(): string | undefined {
  try {
    return execFileSync(PYTHON, ['-c', 'import scrapy; print(scrapy.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** The pinned Scrapy's version line when it is installed already (nothing is installed), else undefined. */
export function installedScrapy(): string | undefined {
  return installedVersion() === SCRAPY_VERSION ? ensureScrapy() : undefined;
}

/** Creates the virtualenv and installs the pinned Scrapy unless it is there already; returns its version line. */
export function ensureScrapy(): string {
  const version = installedVersion;
  if (version() !== SCRAPY_VERSION) {
    fs.mkdirSync(path.dirname(VENV), { recursive: true });
    if (!fs.existsSync(PYTHON)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(PYTHON, ['-m', 'pip', 'install', '--quiet', `scrapy==${SCRAPY_VERSION}`], { stdio: 'inherit' });
  }
  const py = execFileSync(PYTHON, ['--version'], { encoding: 'utf8' }).trim();
  return `Scrapy ${version()} (${py})`;
}

export interface ScrapyResult {
  secs: number;
  pages: number;
  responses: number;
}

/** One crawl of the site from `seed`; `pages` counts the pages parsed (items), `responses` every response. */
export async function runScrapy(seed: string, concurrency: number, workDir: string): Promise<ScrapyResult> {
  const spider = path.join(workDir, 'corpus_spider.py');
  fs.writeFileSync(spider, SPIDER);
  const out = path.join(workDir, 'scrapy-items.jsonl');
  const child = spawn(PYTHON, [spider, seed, String(concurrency), out], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`scrapy exited with ${code}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as ScrapyResult;
}
