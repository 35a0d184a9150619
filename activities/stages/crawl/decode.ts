/**
 * Bytes → text for HTML (and sitemaps), in the order browsers use: a byte-order mark, the charset of the HTTP
 * Content-Type, a `<meta charset>` / `<meta http-equiv=Content-Type>` / XML declaration in the first bytes, then
 * sniffing (valid UTF-8 stays UTF-8, anything else goes to chardet's guess), with windows-1252 as the last resort.
 * Decoding uses the WHATWG decoders built into Node (GBK/GB2312 → GB18030, Big5, Shift_JIS, EUC-KR, …).
 */
import { TextDecoder } from 'node:util';
import chardet from 'chardet';

export type CharsetSource = 'bom' | 'header' | 'meta' | 'sniffed' | 'default';

export interface Decoded {
  text: string;
  /** The WHATWG name of the encoding used, e.g. `gbk`, `big5`, `utf-8`. */
  encoding: string;
  source: CharsetSource;
}

const PRESCAN_BYTES = 4096;

export function decodeBody(body: Buffer, contentType?: string): Decoded {
  const bom = bomEncoding(body);
  if (bom) return { text: decoderFor(bom)!.decode(body), encoding: bom, source: 'bom' };
  for (const [label, source] of [
    [charsetParam(contentType), 'header'],
    [prescanCharset(body), 'meta'],
  ] as const) {
    // A page that declares UTF-16 in its markup is not UTF-16 (the declaration would not be readable).
    const decoder = decoderFor(source === 'meta' && /^utf-16/i.test(label ?? '') ? 'utf-8' : label);
    if (decoder) return { text: decoder.decode(body), encoding: decoder.encoding, source };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(body), encoding: 'utf-8', source: 'sniffed' };
  } catch {
    // Not UTF-8: ask the detector below.
  }
  const guess = decoderFor(chardet.detect(body.subarray(0, 64 * 1024)) ?? undefined);
  if (guess) return { text: guess.decode(body), encoding: guess.encoding, source: 'sniffed' };
  return { text: new TextDecoder('windows-1252').decode(body), encoding: 'windows-1252', source: 'default' };
}

export function charsetParam(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '');
  return m?.[1];
}

/** The charset the markup declares near its start; ASCII-compatible encodings only, as the HTML spec's prescan. */
export function prescanCharset(body: Buffer): string | undefined {
  const head = body.subarray(0, PRESCAN_BYTES).toString('latin1');
  const xml = /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([\w.:-]+)["']/i.exec(head);
  if (xml) return xml[1];
  for (const tag of head.replace(/<!--[\s\S]*?-->/g, '').match(/<meta\b[^>]*>/gi) ?? []) {
    // Both `<meta charset=gbk>` and `<meta http-equiv=Content-Type content="text/html; charset=gbk">`.
    const m = /\bcharset\s*=\s*["']?\s*([\w.:-]+)/i.exec(tag);
    if (m) return m[1];
  }
  return undefined;
}

function bomEncoding(b: Buffer): string | undefined {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'utf-8';
  if (b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  if (b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  return undefined;
}

/** A decoder for a charset label, or undefined for labels the WHATWG Encoding Standard does not know. */
function decoderFor(label: string | undefined): TextDecoder | undefined {
  if (!label) return undefined;
  try {
    return new TextDecoder(label.trim().toLowerCase());
  } catch {
    return undefined;
  }
}
