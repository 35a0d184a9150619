/** Where trainers on this worker keep token shards (trainer/token_shards.py): outside any attempt's work dir, so retries, resumes and later runs reuse them. */
import os from 'node:os';
import path from 'node:path';

export function tokenCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DAPT_TOKEN_CACHE || path.join(env.DAPT_CACHE_DIR || path.join(os.homedir(), '.cache', 'dapt'), 'tokens');
}
