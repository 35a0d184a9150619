/** Artifact storage: content-addressed blobs, manifests with lineage, the stage cache index and run records. */
export { ArtifactStore, StoreUnavailableError, manifestDigest, sha256File } from './artifact-store';
export type { StoreConfig, RunStageRecord } from './artifact-store';
export { keys } from './keys';
