/**
 * A headless Chromium driven by playwright-core, for `dapt report --screenshot` and the report tests. The
 * browser is the system's (infra/chromium.sh finds or installs it), never one downloaded by Playwright.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';

const SCRIPT = path.join(__dirname, 'chromium.sh');

let found: Promise<string> | undefined;

/** The browser's path: DAPT_CHROMIUM, else what infra/chromium.sh finds or installs (once per process). */
export function chromiumPath(): Promise<string> {
  found ??= promisify(execFile)('bash', [SCRIPT], { encoding: 'utf8', timeout: 15 * 60_000 }).then(
    (r) => r.stdout.trim().split('\n').pop()!,
    (e: Error & { stderr?: string }) => {
      found = undefined;
      throw new Error(`no Chromium: ${SCRIPT} failed: ${e.stderr?.trim() || e.message}`);
    },
  );
  return found;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: containers (and root) have no user namespaces for Chromium's sandbox; pages are local files.
  return chromium.launch({ executablePath: await chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A full-page PNG of a local HTML file. */
export async function screenshotFile(htmlFile: string, pngFile: string, width = 1280): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(`file://${path.resolve(htmlFile)}`, { waitUntil: 'load' });
    await page.screenshot({ path: pngFile, fullPage: true });
  } finally {
    await browser.close();
  }
}
