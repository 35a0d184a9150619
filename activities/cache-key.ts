/** The stage cache key: sha256(kind + implementation version + canonical params + input digests + fingerprint). */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../schemas/canonical';
import type { StageCall } from '../schemas/run';

export function stageCacheKey(call: StageCall, fingerprint: unknown): string {
  const material = {
    kind: call.stage.kind,
    version: call.stage.version,
    params: call.stage.params,
    inputs: call.inputs.map((i) => i.digest).sort(),
    fingerprint: fingerprint ?? null,
  };
  return createHash('sha256').update(canonicalJson(material)).digest('hex');
}
