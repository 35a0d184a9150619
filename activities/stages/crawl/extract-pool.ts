/**
 * Main-text extraction (Readability over a DOM) is the crawl's one CPU-heavy step, a few milliseconds a page.
 * On a machine with more than one core it runs in worker threads, so the event loop keeps fetching meanwhile.
 * The pool is shared by the crawls of a process, started on first use, and holds the process open only while
 * it has work. Should a worker fail, extraction falls back to the calling thread.
 */
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { extractMainText, type ExtractedText } from '../html-text';

interface Slot {
  worker: Worker;
  busy: number;
}

const SIZE = Math.min(4, os.availableParallelism() - 1);
// The sources are TypeScript run through tsx: the worker registers it before loading this module.
// Both paths are absolute: an eval'd worker resolves modules from the working directory, not from here.
const BOOT = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(__dirname, 'extract-pool.ts'))});`;
const WORKER_MARK = 'dapt-crawl-extract';

// In a pool worker: HTML in, main text out, one message each.
if (!isMainThread && workerData === WORKER_MARK) {
  parentPort!.on('message', (m: { id: number; html: string }) => {
    try {
      parentPort!.postMessage({ id: m.id, result: extractMainText(m.html) });
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: (e as Error).message });
    }
  });
}

let slots: Slot[] | undefined;
let broken = SIZE < 1;
let nextId = 0;
const waiting = new Map<number, { slot: Slot; resolve: (t: ExtractedText) => void; reject: (e: Error) => void }>();

export async function extractText(html: string): Promise<ExtractedText> {
  if (broken) return extractMainText(html);
  try {
    return await inWorker(html);
  } catch {
    return extractMainText(html);
  }
}

function inWorker(html: string): Promise<ExtractedText> {
  slots ??= Array.from({ length: SIZE }, () => start());
  const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
  const id = nextId++;
  if (slot.busy++ === 0) slot.worker.ref();
  slot.worker.postMessage({ id, html });
  return new Promise((resolve, reject) => waiting.set(id, { slot, resolve, reject }));
}

function start(): Slot {
  const worker = new Worker(BOOT, { eval: true, workerData: WORKER_MARK });
  const slot: Slot = { worker, busy: 0 };
  worker.unref();
  worker.on('message', (m: { id: number; result?: ExtractedText; error?: string }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (--slot.busy === 0) worker.unref();
    if (m.result) w.resolve(m.result);
    else w.reject(new Error(m.error ?? 'extraction failed'));
  });
  worker.on('error', () => {
    // A broken worker (it could not load its module, or ran out of memory): stop using the pool.
    broken = true;
    for (const [id, w] of waiting) {
      if (w.slot !== slot) continue;
      waiting.delete(id);
      w.reject(new Error('extraction worker failed'));
    }
  });
  return slot;
}
