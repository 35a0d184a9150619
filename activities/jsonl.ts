/** JSON Lines reading with errors that name the file and line, shared by document shards and source inputs. */
import { InputError } from './errors';

/**
 * Cuts a byte stream into lines as `readline` (crlfDelay: Infinity) does — "\n", "\r\n" and a lone "\r" end a
 * line; the last line may lack a break — finding the breaks in the bytes. A chunk without "\r" is cut into byte
 * views of the chunk (`cut`: no copy, no decoding; a reader decodes each line when it parses it, and a writer can
 * copy an unchanged line's bytes back out), and `push` decodes them line by line, so that an ASCII line becomes a
 * one-byte string even when other lines hold non-ASCII text (V8 parses and copies those faster; one decode of a
 * whole chunk with any non-ASCII character makes every line two-byte); a chunk with "\r" is decoded once and split.
 * The bytes after a chunk's last "\n" (a partial line, perhaps a partial UTF-8 character) wait for the next chunk.
 */
export class LineSplitter {
  private rest: Buffer | undefined;

  /** The lines that `chunk` completes, decoded. */
  push(chunk: Buffer): string[] {
    return this.cut(chunk).map((l) => (typeof l === 'string' ? l : l.toString('utf8')));
  }

  /**
   * The lines that `chunk` completes: views of the bytes (without their "\n") where the chunk has no "\r", else
   * decoded strings. A view keeps the chunk it is cut from alive.
   */
  cut(chunk: Buffer): (Buffer | string)[] {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const last = buf.lastIndexOf(10);
    if (last < 0) {
      this.rest = buf === chunk ? Buffer.from(chunk) : buf;
      return [];
    }
    // A copy when it is a piece of the caller's chunk: a short rest must not keep the whole chunk alive.
    this.rest = last + 1 === buf.length ? undefined : buf === chunk ? Buffer.from(buf.subarray(last + 1)) : buf.subarray(last + 1);
    const cr = buf.indexOf(13);
    if (cr < 0 || cr > last) {
      const lines: Buffer[] = [];
      for (let start = 0; start <= last; ) {
        const end = buf.indexOf(10, start);
        lines.push(buf.subarray(start, end));
        start = end + 1;
      }
      return lines;
    }
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
 * Each non-blank line of a JSON Lines byte stream, parsed and passed to `check` (with its 1-based line number and
 * the line as LineSplitter.cut gave it: its bytes, or its text), which returns what to yield or throws an error
 * naming the line. Gzip errors of a decompressing input stream become an InputError naming the file.
 */
export async function* parsedLines<T>(
  input: AsyncIterable<Buffer | string>,
  where: string,
  check: (value: unknown, line: number, raw: Buffer | string) => T,
): AsyncGenerator<T> {
  let n = 0;
  try {
    for await (const lines of lineBatches(input)) {
      for (const raw of lines) {
        n++;
        // Decoded one line at a time, just before parsing: the text is garbage as soon as it is parsed.
        const text = typeof raw === 'string' ? raw : raw.toString('utf8');
        // Blank lines are skipped (a line that starts with "{", as every record does, is not blank).
        if (text.charCodeAt(0) !== 123 && !text.trim()) continue;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw new InputError(`${where}:${n}: not valid JSON`);
        }
        yield check(value, n, raw);
      }
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw new InputError(`${where}: corrupt or truncated gzip data`);
    throw e;
  }
}

/** The lines of a byte stream, a chunk's worth at a time (see LineSplitter.cut). */
async function* lineBatches(input: AsyncIterable<Buffer | string>): AsyncGenerator<(Buffer | string)[]> {
  const splitter = new LineSplitter();
  for await (const chunk of input) {
    const lines = splitter.cut(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (lines.length) yield lines;
  }
  const last = splitter.end();
  if (last.length) yield last;
}

/** Yields each non-blank line's parsed value and 1-based line number; `where` names the file in errors. */
export function jsonLines(input: AsyncIterable<Buffer | string>, where: string): AsyncGenerator<{ value: unknown; line: number }> {
  return parsedLines(input, where, (value, line) => ({ value, line }));
}
