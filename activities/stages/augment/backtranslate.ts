/**
 * Back-translation through the trainer: the texts to paraphrase are written to one JSONL file (each statistics
 * task of the fan-out writes its shard's requests, the translate task joins them in shard order), `python -m
 * trainer translate` runs them through the forward and then the backward seq2seq model (local Hugging Face
 * directories or s3:// prefixes, staged like pretrain's base model) in one process, and each apply task reads
 * the byte range of the output that holds its shard's translations, in the order they were asked for.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ArtifactFileT } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import { InputError } from '../../errors';
import { sha256File, type ArtifactStore } from '../../store';
import { modelSourceOf, stageModel } from '../../model-stage/staging';
import { runTrainerStage } from '../../model-stage/trainer-stage';
import type { StageContext } from '../types';

type Params = StageParams<'augment'>;
type BackTranslationParams = NonNullable<Params['backTranslation']>;

export class BackTranslation {
  private readonly input: string;
  private readonly output: string;
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  count = 0;
  metrics: Record<string, number> = {};

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.input = path.join(dir, 'input.jsonl');
    this.output = path.join(dir, 'output.jsonl');
    this.fd = fs.openSync(this.input, 'w');
  }

  /** Queue a text; its translation is the output line in the same place (the order of `add` calls). */
  add(key: string, text: string): void {
    const line = JSON.stringify({ id: key, text }) + '\n';
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.count++;
    if (this.pendingBytes > 1 << 20) this.flush();
  }

  /** Queue the request lines of a stream (another BackTranslation's `inputPath`, as written by `add`). */
  async addLines(lines: Readable, count: number): Promise<void> {
    this.flush();
    for await (const chunk of lines) fs.writeSync(this.fd, chunk as Buffer);
    this.count += count;
  }

  get inputPath(): string {
    return this.input;
  }

  private flush(): void {
    if (this.pending.length) fs.writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Ends the queue: no `add` after this. Returns the sha256 of what is to be translated. */
  async close(): Promise<string> {
    this.flush();
    fs.closeSync(this.fd);
    return sha256File(this.input);
  }

  /** The translations of an earlier attempt with the same input (see AugmentCheckpoint): false when gone. */
  async restore(store: ArtifactStore, output: ArtifactFileT): Promise<boolean> {
    if ((await store.statSize(output.key)) !== output.bytes) return false;
    await store.downloadFile(output.key, this.output);
    return (await sha256File(this.output)) === output.sha256;
  }

  /** Uploads the translations (a blob outside any manifest), so a retry on any worker can restore them. */
  async save(store: ArtifactStore): Promise<ArtifactFileT> {
    return store.putFile(this.output, 'back-translation.jsonl', this.count);
  }

  async run(ctx: StageContext<Params>, p: BackTranslationParams, seed: number): Promise<void> {
    ctx.progress({ message: `back-translation: staging the models for ${this.count} texts` });
    const forward = await stageModel(ctx.store, modelSourceOf(p.forward), path.join(this.dir, 'forward'), 'backTranslation.forward');
    const backward = await stageModel(ctx.store, modelSourceOf(p.backward), path.join(this.dir, 'backward'), 'backTranslation.backward');
    await runTrainerStage(ctx, {
      what: 'augment: back-translation',
      configFile: path.join(this.dir, 'translate-config.json'),
      cwd: this.dir,
      config: {
        command: 'translate',
        input: this.input,
        output: this.output,
        models: [
          { path: forward, prefix: p.forwardPrefix },
          { path: backward, prefix: p.backwardPrefix },
        ],
        temperature: p.temperature,
        numBeams: p.numBeams,
        maxLength: p.maxLength,
        batchSize: p.batchSize,
        seed,
        device: p.device,
      },
      onEvent: (e) => {
        if (e.event === 'metric' && e.name === 'translated') ctx.progress({ fraction: e.value / Math.max(1, this.count), message: `back-translated ${e.value}/${this.count} texts` });
        else if (e.event === 'done') this.metrics = e.metrics ?? {};
      },
    });
  }

  /**
   * The byte ranges of the output that hold the translations of consecutive groups of requests (`counts[i]`
   * lines each, in the order they were added): [from, to) per group.
   */
  async ranges(counts: readonly number[]): Promise<[number, number][]> {
    const ends: number[] = []; // byte offset after each line
    let at = 0;
    for await (const chunk of fs.createReadStream(this.output)) {
      const buf = chunk as Buffer;
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) ends.push(at + i + 1);
      at += buf.length;
    }
    if (at > (ends[ends.length - 1] ?? 0)) ends.push(at); // a last line without its newline
    const total = counts.reduce((n, c) => n + c, 0);
    if (ends.length < total) throw new InputError(`back-translation output ${this.output} ends after ${ends.length} of ${total} texts`);
    let line = 0;
    return counts.map((c) => {
      const from = line ? ends[line - 1] : 0;
      line += c;
      return [from, c ? ends[line - 1] : from];
    });
  }
}

/**
 * The translations of one group of requests (a byte range of the output), in order; `next(key)` checks that the
 * trainer answered the text that was asked.
 */
export function translationsOf(text: string, where: string): { next(key: string): string } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let n = 0;
  return {
    next(key) {
      const line = lines[n++];
      if (line === undefined) throw new InputError(`back-translation output ${where} ends after ${n - 1} texts`);
      const rec = JSON.parse(line) as { id?: unknown; text?: unknown };
      if (rec.id !== key || typeof rec.text !== 'string') throw new InputError(`back-translation output ${where} line ${n}: expected the text of ${key.replace('\u0000', '/')}, got ${line.slice(0, 120)}`);
      return rec.text;
    },
  };
}
