import type { ArtifactStore } from '../../activities/store';

/**
 * A stored object's bytes decoded as UTF-8 once they are all read: decoding chunk by chunk (`chunks.join('')`)
 * splits a multi-byte character that straddles two chunks into U+FFFD replacement characters.
 */
export async function objectText(store: ArtifactStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
