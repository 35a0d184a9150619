/** Work folders of stopped workers: removed by the next worker on the host; live processes' and other hosts' kept. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createActivities } from '../activities/runtime';
import { ArtifactStore } from '../activities/store';
import { makeWorkDir, sweepDeadWorkDirs } from '../activities/work-dirs';
import { tempDir } from './helpers/tmp';

test('a worker starting removes the work folders of stopped processes on its host, and only those', () => {
  const root = tempDir('work-dirs');
  const mine = makeWorkDir(root, 'dedupe-exact');
  assert.match(path.basename(mine), new RegExp(`^dedupe-exact\\.${process.pid}\\.\\d+@${os.hostname().replace(/\./g, '\\.')}-`));
  // a process that has exited
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const dead = path.join(root, `pretrain.${gone}.4242@${os.hostname()}-aB3dE9`);
  fs.mkdirSync(path.join(dead, 'ckpt'), { recursive: true });
  fs.writeFileSync(path.join(dead, 'ckpt', 'model.safetensors'), 'x'.repeat(4096));
  // this very pid with another start time: a restarted container's worker that got the dead one's pid
  const reused = path.join(root, `evaluate.${process.pid}.1@${os.hostname()}-Zz9Yy8`);
  fs.mkdirSync(reused);
  const otherHost = path.join(root, `pretrain.${gone}.4242@not-${os.hostname()}-aB3dE9`);
  const unnamed = path.join(root, 'extract-Qw3rTy'); // an older worker's folder: no owner in its name
  for (const d of [otherHost, unnamed]) fs.mkdirSync(d);

  const lines: string[] = [];
  createActivities({ store: new ArtifactStore({ endpoint: 'http://127.0.0.1:9', accessKey: 'a', secretKey: 'b', bucket: 'b' }), workRoot: root, log: (m) => lines.push(m) });
  assert.equal(fs.existsSync(dead), false, 'the stopped process\'s folder is removed');
  assert.equal(fs.existsSync(reused), false, 'a folder of an earlier process with this pid is removed');
  for (const d of [mine, otherHost, unnamed]) assert.ok(fs.existsSync(d), `${path.basename(d)} is kept`);
  assert.deepEqual(lines, [`removed 2 work folder(s) of stopped workers under ${root}`]);
  assert.equal(sweepDeadWorkDirs(root), 0, 'nothing left to remove');
  assert.equal(sweepDeadWorkDirs(path.join(root, 'missing')), 0, 'no work root yet: nothing to do');
});
