/** JSON Lines reading with errors that name the file and line, shared by document shards and source inputs. */
import type { Readable } from 'node:stream';
import { InputError } from './errors';

/**
 * Cuts a byte stream into lines as `readline` (crlfDelay: Infinity) does — "\n", "\r\n" and a lone "\r" end a
 * line; the last line may lack a break — but decodes UTF-8 once per chunk rather than once per line. The bytes
 * after a chunk's last "\n" (a partial line, perhaps a partial UTF-8 character) wait for the next chunk.
 */
export class LineSplitter {
  private rest: Buffer | undefined;

  /** The lines that `chunk` completes. */
  push(chunk: Buffer): string[] {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const last = buf.lastIndexOf(10);
    if (last < 0) {
      this.rest = buf === chunk ? Buffer.from(chunk) : buf;
      return [];
    }
    // A copy when it is a piece of the caller's chunk: a short rest must not keep the whole chunk alive.
    this.rest = last + 1 === buf.length ? undefined : buf === chunk ? Buffer.from(buf.subarray(last + 1)) : buf.subarray(last + 1);
    // Decoded with its final "\n", so that a "\r" just before it is seen as part of a "\r\n".
    const lines = splitBreaks(buf.toString('utf8', 0, last + 1));
    lines.pop(); // the empty string after that final "\n"
    return lines;
  }

  /** The last line, when the input does not end with a line break. */
  end(): string[] {
    const rest = this.rest;
    this.rest = undefined;
    if (!rest?.length) return [];
    const lines = splitBreaks(rest.toString('utf8'));
    // A lone "\r" at the very end ends the last line; readline yields no empty line after it.
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }
}

/** A text cut at "\n", "\r\n" and lone "\r" (readline's line breaks). */
function splitBreaks(text: string): string[] {
  return text.includes('\r') ? text.split(/\r\n|\n|\r/) : text.split('\n');
}

/**
 * Each non-blank line of a JSON Lines byte stream, parsed and passed to `check` (with its 1-based line number),
 * which returns what to yield or throws an error naming the line. Gzip errors of a decompressing input stream
 * become an InputError naming the file.
 */
export async function* parsedLines<T>(input: Readable, where: string, check: (value: unknown, line: number) => T): AsyncGenerator<T> {
  let n = 0;
  try {
    for await (const lines of lineBatches(input)) {
      for (const text of lines) {
        n++;
        // Blank lines are skipped (a line that starts with "{", as every record does, is not blank).
        if (text.charCodeAt(0) !== 123 && !text.trim()) continue;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw new InputError(`${where}:${n}: not valid JSON`);
        }
        yield check(value, n);
      }
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw new InputError(`${where}: corrupt or truncated gzip data`);
    throw e;
  }
}

/** The lines of a byte stream, a chunk's worth at a time (see LineSplitter). */
async function* lineBatches(input: Readable): AsyncGenerator<string[]> {
  const splitter = new LineSplitter();
  for await (const chunk of input) {
    const lines = splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    if (lines.length) yield lines;
  }
  const last = splitter.end();
  if (last.length) yield last;
}

/** Yields each non-blank line's parsed value and 1-based line number; `where` names the file in errors. */
export function jsonLines(input: Readable, where: string): AsyncGenerator<{ value: unknown; line: number }> {
  return parsedLines(input, where, (value, line) => ({ value, line }));
}
