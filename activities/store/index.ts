/** Artifact storage: content-addressed blobs, manifests with lineage, the stage cache index and run records. */
export { ArtifactStore, StoreUnavailableError, hashFile, manifestDigest, sha256File } from './artifact-store';
export type { StoreConfig, RunStageRecord } from './artifact-store';
export { keys } from './keys';
export { s3Fingerprint, type S3FingerprintOptions } from './s3-fingerprint';
