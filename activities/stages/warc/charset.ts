/**
 * Bytes of an HTML payload → string. The charset comes from the HTTP Content-Type, else a BOM, else a
 * `<meta charset>` / `<meta http-equiv="Content-Type">` in the first 4 KiB, else UTF-8. TextDecoder knows the
 * WHATWG labels (gbk, gb18030, big5, shift_jis, windows-1252, ...); an unknown label falls back to UTF-8.
 */

const META = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i;

export function charsetOf(bytes: Uint8Array, contentType?: string | null): string {
  const header = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType ?? '')?.[1];
  if (header) return header.toLowerCase();
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return bytes[0] === 0xff ? 'utf-16le' : 'utf-16be';
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 4096)).toString('latin1');
  return META.exec(head)?.[1].toLowerCase() ?? 'utf-8';
}

export function decodeBytes(bytes: Uint8Array, charset: string): { text: string; charset: string } {
  try {
    return { text: new TextDecoder(charset).decode(bytes), charset };
  } catch {
    return { text: new TextDecoder('utf-8').decode(bytes), charset: 'utf-8' };
  }
}
