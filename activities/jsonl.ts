/** JSON Lines reading with errors that name the file and line, shared by document shards and source inputs. */
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { InputError } from './errors';

/** Yields each non-blank line's parsed value and 1-based line number; `where` names the file in errors. */
export async function* jsonLines(input: Readable, where: string): AsyncGenerator<{ value: unknown; line: number }> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (!text.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new InputError(`${where}:${n}: not valid JSON`);
      }
      yield { value, line: n };
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw new InputError(`${where}: corrupt or truncated gzip data`);
    throw e;
  }
}
