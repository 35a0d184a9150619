import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { trainerProcesses } from '../activities/model-stage/trainer-process';
import { tempDir } from './helpers/tmp';

test('pretrain runs one trainer process per visible GPU unless the stage is on CPU; evaluate always one', async () => {
  const dir = tempDir('nproc');
  const cfg = (device: string) => {
    const p = path.join(dir, `${device}.json`);
    fs.writeFileSync(p, JSON.stringify({ command: 'pretrain', device }));
    return p;
  };
  const saved = { gpus: process.env.CUDA_VISIBLE_DEVICES, nproc: process.env.DAPT_TRAINER_NPROC };
  delete process.env.DAPT_TRAINER_NPROC;
  try {
    process.env.CUDA_VISIBLE_DEVICES = '0,1,2';
    assert.equal(await trainerProcesses('pretrain', cfg('auto')), 3);
    assert.equal(await trainerProcesses('pretrain', cfg('cuda')), 3);
    assert.equal(await trainerProcesses('pretrain', cfg('cpu')), 1);
    assert.equal(await trainerProcesses('evaluate', cfg('auto')), 1);
    process.env.CUDA_VISIBLE_DEVICES = '';
    assert.equal(await trainerProcesses('pretrain', cfg('auto')), 1, 'no GPU: one process on CPU');
    process.env.DAPT_TRAINER_NPROC = '2';
    assert.equal(await trainerProcesses('pretrain', cfg('cpu')), 2, 'the override wins');
  } finally {
    for (const [k, v] of [['CUDA_VISIBLE_DEVICES', saved.gpus], ['DAPT_TRAINER_NPROC', saved.nproc]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
