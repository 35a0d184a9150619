/**
 * `dapt demo` runs its workers in its own process: Ctrl-C must cancel the run rather than leave it waiting for
 * workers that are gone. The real command on its own dev stack (state dir and ports of its own), interrupted
 * right after the run starts.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../infra/process';
import { tempDir } from './helpers/tmp';

const DAPT = path.join(__dirname, '..', 'bin', 'dapt.js');
const state = tempDir('demo-test');
let env: NodeJS.ProcessEnv = process.env;

after(async () => {
  await promisify(execFile)(process.execPath, [DAPT, 'dev', 'down'], { env }).catch(() => undefined);
  fs.rmSync(state, { recursive: true, force: true });
});

test('Ctrl-C in dapt demo cancels its run and exits', { timeout: 300_000 }, async () => {
  const [temporal, ui, minio, consolePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  env = {
    ...process.env,
    DAPT_STATE_DIR: state,
    DAPT_DEV_TEMPORAL_PORT: String(temporal),
    DAPT_DEV_UI_PORT: String(ui),
    DAPT_DEV_MINIO_PORT: String(minio),
    DAPT_DEV_CONSOLE_PORT: String(consolePort),
    DAPT_TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
  };
  const child = spawn(process.execPath, [DAPT, 'demo', '--example', 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const runId = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // Signal only once the demo says its handler is in place.
      const m = /^run (demo-\S+)$[\s\S]*Ctrl-C cancels the run/m.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then((code) => reject(new Error(`the demo exited (${code}) before starting a run\n${out}\n${err}`)));
  });
  child.kill('SIGINT');
  const code = await exited;

  assert.notEqual(code, 0, out);
  assert.match(out, new RegExp(`SIGINT: cancelling ${runId}`));
  // The server agrees: the run is closed as cancelled, not left running without workers.
  const { stdout } = await promisify(execFile)(process.execPath, [DAPT, 'list'], { env });
  assert.match(stdout, new RegExp(`^${runId}\\s+CANCELLED`, 'm'), stdout);
});
