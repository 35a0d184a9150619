/**
 * Benchmarks must not rot: every `bench:*` script of package.json runs here in its smoke mode (`-- --smoke`:
 * tiny sizes, no warm-up, servers of its own), so a change that breaks a benchmark fails the suite. A new
 * `bench:*` script is picked up by itself and must accept `--smoke`. Two run at a time, longest first: much of
 * a smoke run is waiting (servers starting, processes loading), not computing.
 *
 * What a smoke run checks beyond its exit status: the line each prints once it got through (`MARKERS`); the
 * numbers mean nothing at these sizes. Comparators in other languages (Scrapy, datasketch/rensa, trafilatura)
 * run only where their pinned venv is installed already: a smoke run installs nothing but what `npm run setup`
 * installs (the trainer's venv, for bench:train).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from './helpers/tmp';

const ROOT = path.resolve(__dirname, '..');
const scripts = Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts)
  .filter((s) => s.startsWith('bench:'));

/**
 * A line each benchmark prints at the end of a smoke run that got through (a report, not just a clean exit). A
 * script missing here is still run, and must still exit 0 (so at least accept `--smoke`).
 */
const MARKERS: Record<string, RegExp> = {
  'bench:engine': /Smoke run \(tiny workloads/,
  'bench:crawl': /\| dapt crawl stage \| [\d.]+ \| [\d.]+ \| 40 \|/,
  'bench:extract': /\| dapt \(Readability/,
  'bench:data': /dapt stage \(MinIO, gzip JSONL\): [\d,]+ docs per CPU-second/,
  'bench:io': /^RESULT \{"before":\{"mbPerCpuS"/m,
  'bench:scale': /Engine overhead per task/,
  'bench:pipeline': /^smoke: ok$/m,
  'bench:train': /smoke run \(tiny model/,
  'bench:adapt': /^bench:adapt smoke: ok$/m,
  'bench:tokens': /^bench:tokens smoke: ok$/m,
};

/** Longest first, so the two lanes end at about the same time. */
const ORDER = ['bench:scale', 'bench:pipeline', 'bench:adapt', 'bench:engine', 'bench:train', 'bench:tokens', 'bench:io', 'bench:crawl', 'bench:data', 'bench:extract'];
const ordered = [...scripts].sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));

const TIMEOUT_MS = 240_000;
const smokeTmp = tempDir('bench-smoke');

interface Run {
  code: number | null;
  output: string;
  seconds: number;
}

function runSmoke(script: string): Promise<Run> {
  const started = Date.now();
  // Its own process group, so a timeout stops the servers and workers it started too.
  const child = spawn('npm', ['run', '--silent', script, '--', '--smoke'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // what a smoke run writes to the temp dir (its output folder, servers' data) goes with this test file's folders
    env: { ...process.env, DAPT_LOG_LEVEL: 'ERROR', TMPDIR: smokeTmp },
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => {
    output += `\n[killed after ${TIMEOUT_MS / 1000} s]`;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, TIMEOUT_MS);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** At most `n` at a time, in the order asked. */
function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (f) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await f();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

describe('benchmarks, smoke mode', { concurrency: true }, () => {
  test('the bench:* scripts are found', () => {
    assert.ok(scripts.length >= 7, `bench scripts: ${scripts.join(', ')}`);
  });
  const two = limiter(2);
  const runs = new Map(ordered.map((script) => [script, two(() => runSmoke(script))]));
  for (const script of ordered) {
    test(`${script} -- --smoke`, { timeout: TIMEOUT_MS * ordered.length }, async (t) => {
      const run = await runs.get(script)!;
      t.diagnostic(`${script}: ${run.seconds.toFixed(1)} s`);
      assert.equal(run.code, 0, `${script} --smoke exited with ${run.code}:\n${run.output.slice(-4000)}`);
      assert.match(run.output, MARKERS[script] ?? /$/, `${script} --smoke did not print its report:\n${run.output.slice(-4000)}`);
    });
  }
});
