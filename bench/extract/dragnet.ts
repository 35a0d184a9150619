/**
 * The real pages of bench:extract: the Dragnet data set (1,381 web pages of 2012 with the main text a person
 * marked; /work/shared/data/dragnet, AGPLv3 evaluation data that is read in place and never copied into the
 * repository). Found at `$DAPT_DRAGNET_DIR`, else `../shared/data/dragnet` relative to the repository root; when
 * neither holds `pages.tar.gz`, the real-page part of the benchmark is skipped (say so, do not fail).
 *
 * Pages are decoded as the crawler decodes a response without a Content-Type (BOM, `<meta charset>`, UTF-8 or
 * chardet's guess: activities/stages/crawl/decode.ts), and so are the gold texts (UTF-8, UTF-16 with a BOM,
 * windows-1252). The gold text is the whole gold file, comments section included, as the README's convention scores it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeBody } from '../../activities/stages/crawl/decode';

export type Split = 'train' | 'test';

export interface RealPage {
  id: string;
  html: string;
  gold: string;
}

const SPLIT_FILE: Record<Split, string> = { train: 'training.txt', test: 'test.txt' };

/** The data directory, or undefined with the reason it is not there. */
export function dragnetDir(explicit?: string): { dir?: string; reason?: string } {
  const dir = explicit ?? process.env.DAPT_DRAGNET_DIR ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'dragnet');
  if (!fs.existsSync(path.join(dir, 'pages.tar.gz'))) return { reason: `no Dragnet data at ${dir} (set DAPT_DRAGNET_DIR to its directory)` };
  return { dir };
}

/**
 * The pages of a split, in the split file's order; `limit` keeps the first ones (smoke runs). The archive is
 * unpacked into a temporary directory that is removed before returning.
 */
export function loadDragnet(dir: string, split: Split, limit = Infinity): RealPage[] {
  const ids = fs.readFileSync(path.join(dir, SPLIT_FILE[split]), 'utf8').split(/\s+/).filter(Boolean).slice(0, limit);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-dragnet-'));
  try {
    execFileSync('tar', ['-xzf', path.join(dir, 'pages.tar.gz'), '-C', tmp]);
    return ids.map((id) => ({
      id,
      html: decodeBody(fs.readFileSync(path.join(tmp, 'html', `${id}.html`))).text,
      gold: decodeBody(fs.readFileSync(path.join(tmp, 'gold', `${id}.txt`))).text,
    }));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
