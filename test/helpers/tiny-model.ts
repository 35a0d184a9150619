/** Tiny randomly initialised models for the model-stage tests, built by `python -m trainer tiny-model`. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../infra/paths';
import { trainerPython } from '../../activities/model-stage/trainer-process';

export interface TinyModelOptions {
  /** JSONL files the tokenizer's vocabulary is trained on. */
  corpus: string[];
  out: string;
  arch?: 'bert' | 'gpt2' | 't5';
  vocabSize?: number;
  hidden?: number;
  layers?: number;
  /** Not for t5 (relative positions). */
  maxPositions?: number;
}

/** Builds the model + tokenizer directory `out` and returns it. */
export async function buildTinyModel(o: TinyModelOptions): Promise<string> {
  const args = ['-m', 'trainer', 'tiny-model', '--arch', o.arch ?? 'bert', '--corpus', ...o.corpus, '--out', o.out,
    '--vocab-size', String(o.vocabSize ?? 400), '--hidden', String(o.hidden ?? 64), '--layers', String(o.layers ?? 2)];
  if (o.arch !== 't5') args.push('--max-positions', String(o.maxPositions ?? 128));
  await promisify(execFile)(await trainerPython(), args, { cwd: REPO_ROOT, env: { ...process.env, PYTHONPATH: REPO_ROOT } });
  return o.out;
}
