/**
 * The source stage's file side: which files a `paths` list means (folders walked recursively, sorted so the
 * output order never depends on the file system) and how each format turns into raw documents.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ConfigError, InputError } from '../../errors';
import { jsonLines } from '../../jsonl';
import { extractMainText, normalizeText } from '../html-text';

export interface InputFile {
  /** As the spec names it (a listed path, or that path joined with the file's place in a listed folder). */
  path: string;
  /** The extension that picks the reader, `.gz` removed. */
  ext: string;
  gz: boolean;
  size: number;
  mtimeMs: number;
}

export interface RawDocument {
  text: string;
  metadata: Record<string, unknown>;
}

/** Every file the paths name, in a stable order; a missing path is a spec error, not a transient one. */
export function listInputFiles(paths: readonly string[], extensions: readonly string[]): InputFile[] {
  const out: InputFile[] = [];
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new ConfigError(`source path ${p} does not exist (resolved to ${path.resolve(p)})`);
    }
    if (st.isDirectory()) walk(p, extensions, out);
    else {
      const f = describe(p, st, extensions);
      if (!f) throw new ConfigError(`source file ${p} is not one of ${extensions.join(', ')} (optionally .gz)`);
      out.push(f);
    }
  }
  return out;
}

function walk(dir: string, extensions: readonly string[], out: InputFile[]): void {
  // Code-point order, not locale order: the same tree lists the same way on every machine.
  const names = fs.readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const p = path.join(dir, name);
    const st = fs.statSync(p);
    if (st.isDirectory()) walk(p, extensions, out);
    else if (st.isFile()) {
      const f = describe(p, st, extensions);
      if (f) out.push(f);
    }
  }
}

function describe(p: string, st: fs.Stats, extensions: readonly string[]): InputFile | undefined {
  const lower = p.toLowerCase();
  const gz = lower.endsWith('.gz');
  const ext = path.extname(gz ? lower.slice(0, -3) : lower);
  if (!extensions.includes(ext)) return undefined;
  return { path: p, ext, gz, size: st.size, mtimeMs: st.mtimeMs };
}

/** The raw documents of one file: one per line for .jsonl, one per file otherwise. */
export async function* readFileDocuments(f: InputFile, textField: string): AsyncGenerator<RawDocument> {
  try {
    if (f.ext === '.jsonl') yield* readJsonl(f, textField);
    else yield readWhole(f, await readAll(open(f)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' || (e as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') {
      throw new InputError(`${f.path}: corrupt gzip data`);
    }
    throw e;
  }
}

function readWhole(f: InputFile, content: string): RawDocument {
  if (f.ext === '.html' || f.ext === '.htm') {
    const { title, text, extractor } = extractMainText(content);
    return { text, metadata: { format: 'html', extractor, ...(title ? { title } : {}) } };
  }
  const text = normalizeText(content);
  const heading = f.ext === '.md' ? /^#\s+(.+)$/m.exec(text)?.[1]?.trim() : undefined;
  return { text, metadata: { format: f.ext.slice(1), ...(heading ? { title: heading } : {}) } };
}

async function* readJsonl(f: InputFile, textField: string): AsyncGenerator<RawDocument> {
  for await (const { value: row, line: n } of jsonLines(open(f), f.path)) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new InputError(`${f.path}:${n}: not a JSON object`);
    const { [textField]: text, ...rest } = row as Record<string, unknown>;
    if (typeof text !== 'string') throw new InputError(`${f.path}:${n}: field "${textField}" is missing or not a string`);
    // The other fields ride along, so lineage such as a URL or license survives into the shards.
    yield { text: normalizeText(text), metadata: { ...rest, format: 'jsonl', line: n } };
  }
}

function open(f: InputFile): Readable {
  const raw = fs.createReadStream(f.path);
  if (!f.gz) return raw;
  const gunzip = zlib.createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
