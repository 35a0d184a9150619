/** Artifact manifests: what a stage output is, where its blobs are, who produced it and from what. */
import { z } from 'zod';
import { ARTIFACT_TYPES } from './common';

export const ArtifactFile = z.object({
  key: z.string().describe('object key of a content-addressed blob'),
  name: z.string().describe('logical name, e.g. shard-00000.jsonl.gz'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  records: z.number().int().nonnegative().optional(),
  /**
   * The blob's ETag in the store when the artifact was published (for a single-part upload the MD5 of the content,
   * checked against the local bytes at upload); a cache hit requires the object to still have it. Not part of the
   * digest. Absent in manifests written before it was recorded.
   */
  etag: z.string().optional(),
});

export const ManifestParent = z.object({ stage: z.string(), digest: z.string() });

export const Manifest = z.object({
  kind: z.enum(ARTIFACT_TYPES),
  /** Record schema of the blobs, e.g. `document/v1` for JSONL documents. */
  schema: z.string(),
  /** sha256 over kind, schema, files and parents: the artifact's identity. */
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.array(ArtifactFile),
  producer: z.object({
    pipeline: z.string(),
    run: z.string(),
    stage: z.string(),
    stageKind: z.string(),
    attempt: z.number().int(),
    cacheKey: z.string(),
    createdAt: z.string(),
  }),
  parents: z.array(ManifestParent),
  metrics: z.record(z.string(), z.unknown()).default({}),
});

export type ArtifactFileT = z.output<typeof ArtifactFile>;
export type ManifestT = z.output<typeof Manifest>;

/** What flows between stages in workflow payloads: a reference, never data. */
export interface ArtifactRef {
  stage: string;
  digest: string;
  kind: string;
}

/** The record schema of `documents` shards (one JSON object per line). */
export const DocumentRecord = z.object({
  id: z.string(),
  text: z.string(),
  source: z.string(),
  metadata: z.record(z.string(), z.unknown()).default({}),
});
export type DocumentRecordT = z.output<typeof DocumentRecord>;
export const DOCUMENT_SCHEMA = 'document/v1';
