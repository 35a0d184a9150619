/** What the infra scripts that fetch or build into the cache (real-data.sh, warm-base.sh, …) print last: their folder. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../infra/paths';

export async function infraDir(script: string): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(REPO_ROOT, 'infra', script)], { cwd: REPO_ROOT, maxBuffer: 1 << 20 });
  const dir = stdout.trim().split('\n').pop() ?? '';
  if (!fs.existsSync(dir)) throw new Error(`infra/${script} printed no directory (got "${dir}")`);
  return dir;
}
