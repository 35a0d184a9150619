/**
 * The workflow bundle, built once per source version and cached on disk: webpack takes several seconds on a
 * small machine, and every worker start (CLI, tests) would pay it again.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import workflowPackage from '@temporalio/workflow/package.json';

const ROOT = path.resolve(__dirname, '..');
const SOURCES = ['workflows', 'schemas'];

function sourceHash(): string {
  const h = createHash('sha256');
  h.update(workflowPackage.version);
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) h.update(p).update(fs.readFileSync(p));
    }
  };
  SOURCES.forEach((s) => walk(path.join(ROOT, s)));
  return h.digest('hex').slice(0, 16);
}

export async function workflowBundle(): Promise<{ code: string }> {
  const dir = path.join(process.env.DAPT_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'dapt'), 'bundles');
  const file = path.join(dir, `workflows-${sourceHash()}.js`);
  if (fs.existsSync(file)) return { code: fs.readFileSync(file, 'utf8') };
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'workflows', 'index.ts'),
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, file); // atomic: concurrent workers never read a half-written bundle
  return { code };
}
