/**
 * One WARC stream → documents, record by record (warcio's parser; nothing is read ahead of the current
 * record). WET `conversion` records give their UTF-8 text; `response` records with a 2xx status and an
 * accepted media type, and `resource` records of an accepted type, give their decoded HTML (transfer and
 * content encodings undone, charset detected) with `metadata.contentType` set for `extract`. Every record
 * that gives no document yields the reason instead, for the stage's counters.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { WARCParser, type WARCRecord } from 'warcio';
import type { StageParams } from '../../../schemas/stages';
import type { DocumentRecordT } from '../../../schemas/manifest';
import { charsetOf, decodeBytes } from './charset';

type Params = StageParams<'warc'>;

export type RecordOutcome = { doc: DocumentRecordT; bytes: number } | { skipped: string; bytes: number };

export async function* warcDocuments(stream: Readable, source: string, p: Params): AsyncGenerator<RecordOutcome> {
  const wanted = new Set<string>(p.records);
  const types = new Set(p.contentTypes.map((t) => t.toLowerCase()));
  let index = 0;
  for await (const record of new WARCParser(stream)) {
    const at = index++;
    const type = record.warcType;
    const bytes = record.warcContentLength;
    if (!wanted.has(type)) {
      await record.skipFully();
      yield { skipped: `type_${type}`, bytes };
      continue;
    }
    if (bytes > p.maxRecordBytes) {
      await record.skipFully();
      yield { skipped: 'too_large', bytes };
      continue;
    }
    const base = {
      url: record.warcTargetURI ?? undefined,
      date: record.warcDate ?? undefined,
      warcRecordId: record.warcHeader('WARC-Record-ID') ?? undefined,
      warcType: type,
      ...(record.warcHeader('WARC-Truncated') ? { truncated: record.warcHeader('WARC-Truncated') } : {}),
    };
    const id = createHash('sha256').update(base.warcRecordId ?? `${source}#${at}`).digest('hex');
    const out = (text: string, metadata: Record<string, unknown>): RecordOutcome => ({
      doc: { id, text, source, metadata: dropUndefined({ ...base, ...metadata }) },
      bytes,
    });

    if (type === 'conversion') {
      const text = Buffer.from(await record.readFully(true)).toString('utf8');
      yield out(text, { format: 'wet', contentType: 'text/plain', contentLanguages: record.warcHeader('WARC-Identified-Content-Language') ?? undefined });
      continue;
    }
    const skip = httpSkipReason(record, types);
    if (skip) {
      await record.skipFully();
      yield { skipped: skip, bytes };
      continue;
    }
    const contentType = contentTypeOf(record);
    const payload = await record.readFully(true);
    const { text, charset } = decodeBytes(payload, charsetOf(payload, contentType));
    yield out(text, { format: 'html', contentType: mediaType(contentType), charset, status: record.httpHeaders?.statusCode });
  }
}

function contentTypeOf(record: WARCRecord): string | undefined {
  return (record.httpHeaders ? record.httpHeaders.headers.get('content-type') : record.warcContentType) ?? undefined;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function httpSkipReason(record: WARCRecord, types: Set<string>): string | undefined {
  if (record.warcType === 'response') {
    const status = Number(record.httpHeaders?.statusCode);
    if (!record.httpHeaders) return 'not_http';
    if (!(status >= 200 && status < 300)) return 'http_status';
  }
  if (!types.has(mediaType(contentTypeOf(record)))) return 'content_type';
  return undefined;
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
