import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// every folder a test file made goes when its process exits, whether its test passed, failed or never reached its
// own cleanup; DAPT_KEEP_TEST_DIRS=1 keeps them for a look after a failure
const made = new Set<string>();
process.once('exit', () => {
  if (!process.env.DAPT_KEEP_TEST_DIRS) for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh folder under the OS temp dir named `dapt-<label>-…`, removed when the test process exits. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dapt-${label}-`));
  made.add(dir);
  return dir;
}
