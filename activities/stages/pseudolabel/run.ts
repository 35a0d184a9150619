/**
 * The `pseudolabel` stage: a teacher fine-tuned on the labeled train set labels the documents of the
 * needs-stages; the confident labels (≥ threshold, at most perClassCap per class) are kept, over one or more
 * noisy-student rounds (`python -m trainer pseudolabel`). The teacher is the `model` input unless `teacher`
 * names one; `dataset` inputs join the labeled train set. Output: a `dataset` artifact of gzip JSONL shards
 * (schema pseudo-labels/v1: {text, label, confidence, round} per line) plus stats.json; the manifest's metrics
 * count what was kept per class, computed from the stored rows.
 *
 * A fan-out whose phases follow the `rounds` param, so labeling runs per documents shard on the stage's queue
 * (GPU workers when there are any) and a dead worker costs one shard:
 *   teacher    one task: the teacher fine-tuned on the labeled rows (or the configured classifier, as it is); a
 *              fine-tuned one is stored as a scratch object, so label tasks on any worker download it once;
 *   label-r    one task per documents shard, streamed: the candidates (argmax class, probability ≥ threshold) as a
 *              scratch object of (float32 confidence, uint32 position) records, class by class, each class in
 *              rank order (confidence descending, then position); the ledger keeps only per-class counts;
 *   select-r   one task: today's threshold + per-class cap decision over all shards (the trainer's `select`): per
 *              class the limit (cap, or 'balanced': the smallest nonzero class total) and, where a class has more
 *              candidates, the last kept one, found by a k-way merge of the shards' ranked lists read in chunks
 *              (memory: a chunk per shard, never the corpus);
 *   student-r  (rounds > 1) one task: the noisy student trained on the labeled rows + the kept rows of round
 *              r − 1 in selection order, stored as scratch; then label-r and select-r again;
 *   write      one task per documents shard: the kept rows of the last round, in document order, as
 *              `pseudo-<shard>-<n>.jsonl.gz` shards.
 * The reduce lists the shards in input order, writes stats.json and removes the scratch objects. Ranks are
 * (confidence, shard, position) in input order, so the output does not depend on the number of workers or on the
 * order in which tasks finish.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { once } from 'node:events';
import type { ArtifactFileT } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import { ShardWriter, documentShards, readShard } from '../../documents';
import { recordsIn } from '../../stage-inputs';
import { ConfigError, InputError } from '../../errors';
import type { ArtifactStore } from '../../store';
import { runPhasesInline } from '../../inline-phases';
import { scratchPrefix } from '../../scratch';
import { downloadFiles, listFiles, localPathOf, workSubdir } from '../../model-stage/files';
import { describeSource, modelDirFingerprint, modelFiles, modelSourceOf, stageModel } from '../../model-stage/staging';
import { fineTuningOf, runTrainerStage, type TrainerConfigInput } from '../../model-stage/trainer-stage';
import { PSEUDO_LABEL_SCHEMA, countRows, refList, stageDatasets, stageTaskFiles, taskFilesFingerprint } from '../../model-stage/task-data';
import type { FanoutPhase, StageContext, StageFanout, StageImpl } from '../types';

type Params = StageParams<'pseudolabel'>;

export interface PseudoRow {
  text: string;
  label: string;
  confidence: number;
  round: number;
}

/** The manifest's metrics of a pseudolabel artifact. */
export interface PseudolabelMetrics {
  /** rows kept (all rounds) */
  rows: number;
  /** label → rows kept and their mean teacher confidence */
  perClass: Record<string, { kept: number; meanConfidence: number }>;
  meanConfidence: number;
  minConfidence: number;
  /** round → rows kept in it */
  perRound: Record<string, number>;
  threshold: number;
  perClassCap: number | 'balanced' | null;
  /** documents offered to the teacher; labeled rows it was fine-tuned on (user files + dataset inputs) */
  unlabeledDocs: number;
  labeledRows: number;
  teacher: string;
  /** stats.json: {labels, threshold, perClassCap, unlabeled, perClass (last round), rounds} */
  trainer: unknown;
}

/** A candidate record in a scratch object: float32 confidence, uint32 position in the shard (little-endian). */
const RECORD = 8;
const CHUNK_RECORDS = 16_384;

type FileRef = Pick<ArtifactFileT, 'key' | 'name' | 'bytes' | 'records'>;
/** A model stored under the stage's scratch prefix: `${dir}${file}` for each file. */
interface ScratchModel {
  dir: string;
  files: string[];
}
interface TeacherResult {
  prefix: string;
  given: boolean;
  order: string[];
  labels: string[];
  labeledRows: number;
  teacher: string;
  model?: ScratchModel;
}
interface LabelTask {
  prefix: string;
  round: number;
  shard: number;
  file: FileRef;
  order: string[];
  model?: ScratchModel;
}
interface LabelResult {
  round: number;
  shard: number;
  docs: number;
  /** candidates per class (in `order`) */
  counts: number[];
}
/** Per class: null keeps every candidate; `last` is the last kept [confidence, shard, position] (null: none kept). */
type Cut = null | { last: [number, number, number] | null };
interface SelectTask {
  prefix: string;
  round: number;
  order: string[];
  counts: number[][];
}
interface SelectResult {
  round: number;
  cuts: Cut[];
  /** per class (in `order`) */
  kept: number[];
  candidates: number[];
}
/** The kept rows of one round, shard by shard. */
interface KeptRef {
  prefix: string;
  round: number;
  order: string[];
  cuts: Cut[];
  shards: { shard: number; file: FileRef; counts: number[] }[];
}
interface StudentResult {
  round: number;
  rows: number;
  model: ScratchModel;
}
interface WriteStats {
  rows: number;
  confSum: number;
  minConfidence: number | null;
  perClass: Record<string, { kept: number; confSum: number }>;
}
interface WriteResult {
  files: ArtifactFileT[];
  stats: WriteStats;
}

const candidatesKey = (prefix: string, round: number, shard: number) => `${prefix}r${round}/cands-${String(shard).padStart(6, '0')}.bin`;

// ------------------------------------------------------------------------------------------------ staging

function checkInputs(ctx: StageContext<Params>): void {
  const p = ctx.params;
  const models = ctx.inputs.filter((i) => i.manifest.kind === 'model');
  if (p.teacher && models.length) throw new ConfigError(`teacher: set, but ${models.map((m) => m.stage).join(', ')} also provide a model: name one teacher`);
  if (!p.teacher && models.length !== 1) {
    throw new ConfigError(`pseudolabel needs one teacher: a model input or the teacher param (got ${models.length ? models.map((m) => m.stage).join(', ') : 'neither'})`);
  }
  if (!ctx.inputs.some((i) => i.manifest.kind === 'documents')) throw new ConfigError('pseudolabel needs a needs-stage producing documents: the unlabeled text to label');
}

/** The documents shards to label, in input order (the order of the single-pass version's unlabeled file). */
function unlabeledShards(ctx: StageContext<Params>): FileRef[] {
  return ctx.inputs
    .filter((i) => i.manifest.kind === 'documents')
    .flatMap((i) => documentShards(i.manifest))
    .map((f) => ({ key: f.key, name: f.name, bytes: f.bytes, records: f.records }));
}

/** The configured teacher (the `teacher` param or the model input) as a local directory, and its description. */
async function stageTeacherSource(ctx: StageContext<Params>, dir: string): Promise<{ dir: string; teacher: string }> {
  if (ctx.params.teacher) {
    const src = modelSourceOf(ctx.params.teacher);
    return { dir: await stageModel(ctx.store, src, dir, 'teacher'), teacher: describeSource(src) };
  }
  const model = ctx.inputs.find((i) => i.manifest.kind === 'model');
  if (!model) throw new ConfigError('pseudolabel needs one teacher: a model input or the teacher param');
  await downloadFiles(ctx.store, modelFiles(model.manifest), dir);
  return { dir, teacher: `the model of stage ${model.stage}` };
}

/** The labeled train files (user files, then the dataset inputs as one file) and their row count. */
async function stageLabeled(ctx: StageContext<Params>, data: string): Promise<{ files: string[]; rows: number }> {
  const p = ctx.params;
  const train = await stageTaskFiles(ctx.store, refList(p.data.train), data, 'data.train');
  const extraFile = path.join(data, 'labeled-inputs.jsonl');
  const extra = await stageDatasets(ctx.store, ctx.inputs.filter((i) => i.manifest.kind === 'dataset'), extraFile, p.data);
  return { files: extra ? [...train, extraFile] : train, rows: countRows(train) + extra };
}

async function uploadModel(store: ArtifactStore, dir: string, scratch: string): Promise<ScratchModel> {
  const files = listFiles(dir);
  for (const f of files) await store.client.fPutObject(store.bucket, store.key(scratch + f), path.join(dir, f));
  return { dir: scratch, files };
}

async function downloadModel(store: ArtifactStore, m: ScratchModel, dir: string): Promise<string> {
  for (const f of m.files) {
    const local = localPathOf(dir, f);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    await store.client.fGetObject(store.bucket, store.key(m.dir + f), local);
  }
  return dir;
}

/** The texts of a documents shard that the teacher labels (blank ones are skipped), in order: positions count these. */
async function* shardTexts(store: ArtifactStore, file: FileRef): AsyncGenerator<string> {
  for await (const doc of readShard(store, file)) if (doc.text.trim()) yield doc.text;
}

async function writeJsonlGz(file: string, lines: AsyncIterable<unknown> | Iterable<unknown>): Promise<number> {
  const gz = zlib.createGzip();
  const out = fs.createWriteStream(file);
  gz.pipe(out);
  let n = 0;
  for await (const rec of lines) {
    n++;
    if (!gz.write(JSON.stringify(rec) + '\n')) await once(gz, 'drain');
  }
  gz.end();
  await once(out, 'close');
  return n;
}

type PhaseFields = Omit<TrainerConfigInput<'pseudolabel'>, 'command' | 'phase' | 'threshold' | 'perClassCap' | 'rounds' | 'studentDropout' | 'seed' | 'epochs' | 'maxSteps' | 'batchSize' | 'lr' | 'weightDecay' | 'warmupRatio' | 'logEvery' | 'device'>;

/** One trainer phase (teacher, label, student) with the stage's shared settings; `fields` says what it reads and writes. */
async function trainer(ctx: StageContext<Params>, phase: 'teacher' | 'label' | 'student', fields: PhaseFields): Promise<void> {
  const p = ctx.params;
  await runTrainerStage(ctx, {
    what: 'pseudolabel',
    configFile: path.join(ctx.workDir, `${phase}-config.json`),
    config: {
      command: 'pseudolabel',
      phase,
      labels: p.labels,
      threshold: p.threshold,
      perClassCap: p.perClassCap,
      rounds: p.rounds,
      studentDropout: p.studentDropout,
      seed: p.seed,
      ...fineTuningOf(p),
      logEvery: p.logEvery,
      device: p.device,
      ...fields,
    },
  });
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

// ------------------------------------------------------------------------------------------------ candidates

const readRange = (store: ArtifactStore, key: string, from: number, length: number): Promise<Buffer> => store.getRange(key, from, from + length);

/** One shard's ranked candidates of one class, read a chunk at a time. */
class Cursor {
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;
  private read = 0;
  conf = 0;
  pos = 0;

  constructor(
    private readonly store: ArtifactStore,
    private readonly key: string,
    private readonly offset: number,
    private readonly count: number,
    readonly shard: number,
  ) {}

  /** Moves to the next record; false when there is none. */
  async next(): Promise<boolean> {
    if (this.at >= this.buf.length) {
      if (this.read >= this.count) return false;
      const n = Math.min(CHUNK_RECORDS, this.count - this.read);
      this.buf = await readRange(this.store, this.key, this.offset + this.read * RECORD, n * RECORD);
      this.read += n;
      this.at = 0;
    }
    this.conf = this.buf.readFloatLE(this.at);
    this.pos = this.buf.readUInt32LE(this.at + 4);
    this.at += RECORD;
    return true;
  }
}

/** Rank order: confidence descending, then input order (shard, position), as the trainer's stable sort. */
const before = (a: Cursor, b: Cursor) => a.conf > b.conf || (a.conf === b.conf && (a.shard < b.shard || (a.shard === b.shard && a.pos < b.pos)));

/** The `limit`-th candidate of a class over all shards, by a k-way merge (a binary heap of cursors). */
async function lastKept(store: ArtifactStore, task: SelectTask, c: number, limit: number): Promise<[number, number, number]> {
  const heap: Cursor[] = [];
  const up = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && before(heap[l], heap[best])) best = l;
      if (r < heap.length && before(heap[r], heap[best])) best = r;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best], heap[i]];
      i = best;
    }
  };
  for (const [shard, counts] of task.counts.entries()) {
    if (!counts[c]) continue;
    const offset = counts.slice(0, c).reduce((a, b) => a + b, 0) * RECORD;
    // No shard contributes more than `limit` of the first `limit`.
    const cur = new Cursor(store, candidatesKey(task.prefix, task.round, shard), offset, Math.min(counts[c], limit), shard);
    if (await cur.next()) {
      heap.push(cur);
      up(heap.length - 1);
    }
  }
  for (let taken = 1; ; taken++) {
    const top = heap[0];
    if (taken === limit) return [top.conf, top.shard, top.pos];
    if (await top.next()) down(0);
    else {
      heap[0] = heap[heap.length - 1];
      heap.pop();
      down(0);
    }
  }
}

function keeps(cut: Cut, conf: number, shard: number, pos: number): boolean {
  if (cut === null) return true;
  if (cut.last === null) return false;
  const [c, s, p] = cut.last;
  return conf > c || (conf === c && (shard < s || (shard === s && pos <= p)));
}

/** One shard's kept candidates: position → [class, confidence]. */
async function keptOf(store: ArtifactStore, ref: KeptRef, shard: { shard: number; counts: number[] }): Promise<Map<number, [number, number]>> {
  const kept = new Map<number, [number, number]>();
  const total = shard.counts.reduce((a, b) => a + b, 0);
  if (!total) return kept;
  const buf = await readRange(store, candidatesKey(ref.prefix, ref.round, shard.shard), 0, total * RECORD);
  let o = 0;
  for (const [c, n] of shard.counts.entries()) {
    for (let i = 0; i < n; i++, o += RECORD) {
      const conf = buf.readFloatLE(o);
      const pos = buf.readUInt32LE(o + 4);
      if (keeps(ref.cuts[c], conf, shard.shard, pos)) kept.set(pos, [c, conf]);
    }
  }
  return kept;
}

// ------------------------------------------------------------------------------------------------ phases

const TEACHER = 0;
const LABEL = (r: number) => 3 * (r - 1) + 1;
const SELECT = (r: number) => 3 * (r - 1) + 2;
const STUDENT = (r: number) => 3 * (r - 1);

const teacherPhase: FanoutPhase<Params, { prefix: string }, TeacherResult> = {
  name: 'teacher',
  async plan(ctx) {
    checkInputs(ctx);
    if (!unlabeledShards(ctx).some((f) => (f.records ?? 1) > 0)) {
      const names = ctx.inputs.filter((i) => i.manifest.kind === 'documents').map((d) => d.stage);
      throw new InputError(`the documents of ${names.join(', ')} are empty: nothing to label`);
    }
    return [{ prefix: scratchPrefix(ctx, 'pseudolabel') }];
  },
  async map(ctx, { prefix }) {
    ctx.progress({ message: 'staging the teacher and the labeled data' });
    const labeled = await stageLabeled(ctx, workSubdir(ctx.workDir, 'data'));
    const source = await stageTeacherSource(ctx, workSubdir(ctx.workDir, 'teacher'));
    const outputDir = workSubdir(ctx.workDir, 'output');
    await trainer(ctx, 'teacher', {
      teacher: { path: source.dir },
      data: { train: labeled.files, textField: ctx.params.data.textField, labelField: ctx.params.data.labelField, maxLength: ctx.params.data.maxLength },
      outputDir,
    });
    const t = readJson<{ labels: string[]; order: string[]; given: boolean }>(path.join(outputDir, 'teacher.json'));
    const model = t.given ? undefined : await uploadModel(ctx.store, path.join(outputDir, 'model'), `${prefix}r1/model/`);
    return { prefix, given: t.given, order: t.order, labels: t.labels, labeledRows: labeled.rows, teacher: source.teacher, ...(model ? { model } : {}) };
  },
};

function labelPhase(round: number): FanoutPhase<Params, LabelTask, LabelResult> {
  return {
    name: `label-${round}`,
    async plan(ctx, previous) {
      const teacher = previous[TEACHER][0] as TeacherResult;
      const model = round === 1 ? teacher.model : (previous[STUDENT(round)][0] as StudentResult).model;
      return unlabeledShards(ctx).map((file, shard) => ({ prefix: teacher.prefix, round, shard, file, order: teacher.order, ...(model ? { model } : {}) }));
    },
    async map(ctx, task) {
      const data = workSubdir(ctx.workDir, 'data');
      const local = path.join(data, 'documents.jsonl.gz');
      const docs = await writeJsonlGz(local, (async function* () {
        for await (const text of shardTexts(ctx.store, task.file)) yield { text };
      })());
      const key = candidatesKey(task.prefix, round, task.shard);
      if (!docs) {
        await ctx.store.client.putObject(ctx.store.bucket, ctx.store.key(key), Buffer.alloc(0), 0);
        return { round, shard: task.shard, docs: 0, counts: task.order.map(() => 0) };
      }
      const dir = workSubdir(ctx.workDir, 'teacher');
      const teacherDir = task.model ? await downloadModel(ctx.store, task.model, dir) : (await stageTeacherSource(ctx, dir)).dir;
      ctx.progress({ message: `round ${round}: labeling ${task.file.name} (${docs} documents)` });
      const outputDir = workSubdir(ctx.workDir, 'output');
      await trainer(ctx, 'label', {
        teacher: { path: teacherDir },
        labels: task.order,
        data: { unlabeled: [local], textField: 'text', maxLength: ctx.params.data.maxLength },
        outputDir,
      });
      const out = readJson<{ docs: number; counts: number[] }>(path.join(outputDir, 'label.json'));
      if (out.docs !== docs) throw new Error(`pseudolabel: the trainer labeled ${out.docs} of the ${docs} documents of ${task.file.name}`);
      await ctx.store.client.fPutObject(ctx.store.bucket, ctx.store.key(key), path.join(outputDir, 'candidates.bin'));
      return { round, shard: task.shard, docs, counts: out.counts };
    },
  };
}

function selectPhase(round: number): FanoutPhase<Params, SelectTask, SelectResult> {
  return {
    name: `select-${round}`,
    async plan(ctx, previous) {
      const teacher = previous[TEACHER][0] as TeacherResult;
      const labeled = previous[LABEL(round)] as LabelResult[];
      if (!labeled.some((l) => l.docs > 0)) {
        const names = ctx.inputs.filter((i) => i.manifest.kind === 'documents').map((d) => d.stage);
        throw new InputError(`the documents of ${names.join(', ')} are empty: nothing to label`);
      }
      return [{ prefix: teacher.prefix, round, order: teacher.order, counts: labeled.map((l) => l.counts) }];
    },
    async map(ctx, task) {
      const cap = ctx.params.perClassCap;
      const candidates = task.order.map((_, c) => task.counts.reduce((n, counts) => n + counts[c], 0));
      const limit = cap === 'balanced' ? Math.min(...candidates.filter((n) => n > 0), Infinity) : cap;
      const finite = limit === undefined ? undefined : Number.isFinite(limit) ? limit : 0;
      const cuts: Cut[] = [];
      const kept: number[] = [];
      for (const [c, n] of candidates.entries()) {
        if (finite === undefined || finite >= n) {
          cuts.push(null);
          kept.push(n);
        } else {
          cuts.push({ last: finite === 0 ? null : await lastKept(ctx.store, task, c, finite) });
          kept.push(finite);
        }
        ctx.signal.throwIfAborted();
      }
      ctx.log(`pseudolabel round ${round}: ${kept.reduce((a, b) => a + b, 0)} kept of ${candidates.reduce((a, b) => a + b, 0)} candidates`);
      return { round, cuts, kept, candidates };
    },
  };
}

/** Where the kept rows of `round` are: its select decision over its label results. */
function keptRef(ctx: StageContext<Params>, previous: unknown[][], round: number): KeptRef {
  const teacher = previous[TEACHER][0] as TeacherResult;
  const select = previous[SELECT(round)][0] as SelectResult;
  const files = unlabeledShards(ctx);
  const shards = (previous[LABEL(round)] as LabelResult[]).map((l) => ({ shard: l.shard, file: files[l.shard], counts: l.counts }));
  return { prefix: teacher.prefix, round, order: teacher.order, cuts: select.cuts, shards };
}

function studentPhase(round: number): FanoutPhase<Params, KeptRef, StudentResult> {
  return {
    name: `student-${round}`,
    async plan(ctx, previous) {
      return [keptRef(ctx, previous, round - 1)];
    },
    async map(ctx, ref) {
      ctx.progress({ message: `round ${round}: gathering the kept rows of round ${ref.round}` });
      const rows: { c: number; conf: number; shard: number; pos: number; text: string }[] = [];
      for (const s of ref.shards) {
        const kept = await keptOf(ctx.store, ref, s);
        if (!kept.size) continue;
        let pos = 0;
        for await (const text of shardTexts(ctx.store, s.file)) {
          const k = kept.get(pos);
          if (k) rows.push({ c: k[0], conf: k[1], shard: s.shard, pos, text });
          pos++;
        }
      }
      // Selection order (class, then rank), as the single-pass trainer appends them to the labeled rows.
      rows.sort((a, b) => a.c - b.c || b.conf - a.conf || a.shard - b.shard || a.pos - b.pos);
      const data = workSubdir(ctx.workDir, 'data');
      const pseudo = path.join(data, 'pseudo.jsonl.gz');
      await writeJsonlGz(pseudo, rows.map((r) => ({ text: r.text, label: ref.order[r.c] })));
      const labeled = await stageLabeled(ctx, data);
      const source = await stageTeacherSource(ctx, workSubdir(ctx.workDir, 'teacher'));
      const outputDir = workSubdir(ctx.workDir, 'output');
      await trainer(ctx, 'student', {
        teacher: { path: source.dir },
        labels: ref.order,
        round: ref.round,
        data: { train: labeled.files, pseudo: [pseudo], textField: ctx.params.data.textField, labelField: ctx.params.data.labelField, maxLength: ctx.params.data.maxLength },
        outputDir,
      });
      const model = await uploadModel(ctx.store, path.join(outputDir, 'model'), `${ref.prefix}r${round}/model/`);
      return { round, rows: rows.length, model };
    },
  };
}

function writePhase(round: number): FanoutPhase<Params, KeptRef, WriteResult> {
  return {
    name: 'write',
    async plan(ctx, previous) {
      const ref = keptRef(ctx, previous, round);
      return ref.shards.map((s) => ({ ...ref, shards: [s] }));
    },
    async map(ctx, ref) {
      const s = ref.shards[0];
      const kept = await keptOf(ctx.store, ref, s);
      const out = new ShardWriter<PseudoRow>(ctx.store, ctx.workDir, ctx.params.shardSize, `pseudo-${String(s.shard).padStart(5, '0')}`);
      const stats: WriteStats = { rows: 0, confSum: 0, minConfidence: null, perClass: {} };
      if (kept.size) {
        let pos = 0;
        for await (const text of shardTexts(ctx.store, s.file)) {
          const k = kept.get(pos++);
          if (!k) continue;
          const label = ref.order[k[0]];
          await out.write({ text, label, confidence: k[1], round });
          const c = (stats.perClass[label] ??= { kept: 0, confSum: 0 });
          c.kept++;
          c.confSum += k[1];
          stats.rows++;
          stats.confSum += k[1];
          stats.minConfidence = Math.min(stats.minConfidence ?? Infinity, k[1]);
        }
      }
      return { files: await out.close(), stats };
    },
  };
}

/** The phases for `rounds` noisy-student rounds. */
export function pseudolabelFanout(params: Pick<Params, 'rounds'>): StageFanout<Params> {
  const phases: FanoutPhase<Params>[] = [teacherPhase, labelPhase(1), selectPhase(1)];
  for (let r = 2; r <= params.rounds; r++) phases.push(studentPhase(r), labelPhase(r), selectPhase(r));
  phases.push(writePhase(params.rounds));
  const R = params.rounds;
  return {
    phases,
    async reduce(ctx, results) {
      const p = ctx.params;
      const teacher = results[TEACHER][0] as TeacherResult;
      const written = results[results.length - 1] as WriteResult[];
      const files = written.flatMap((w) => w.files);
      const unlabeled = (results[LABEL(1)] as LabelResult[]).reduce((n, l) => n + l.docs, 0);
      const unlabeledDocs = recordsIn(unlabeledShards(ctx));
      const rounds = [];
      for (let r = 1; r <= R; r++) {
        const s = results[SELECT(r)][0] as SelectResult;
        rounds.push({
          round: r,
          teacher: r === 1 ? (teacher.given ? 'given' : 'fine-tuned') : `student of round ${r - 1}`,
          candidates: s.candidates.reduce((a, b) => a + b, 0),
          kept: s.kept.reduce((a, b) => a + b, 0),
          perClass: Object.fromEntries(teacher.order.map((l, c) => [l, { kept: s.kept[c], candidates: s.candidates[c] }])),
        });
      }
      const last = rounds[rounds.length - 1].perClass;
      const stats = {
        labels: teacher.labels,
        threshold: p.threshold,
        perClassCap: p.perClassCap ?? null,
        unlabeled,
        perClass: Object.fromEntries(teacher.labels.map((l) => [l, last[l]])),
        rounds,
      };
      const statsFile = path.join(ctx.workDir, 'stats.json');
      fs.writeFileSync(statsFile, JSON.stringify(stats, null, 2));
      files.push(await ctx.store.putFile(statsFile, 'stats.json'));

      const perClass: PseudolabelMetrics['perClass'] = {};
      let rows = 0;
      let confSum = 0;
      let minConfidence = Infinity;
      for (const { stats: w } of written) {
        rows += w.rows;
        confSum += w.confSum;
        if (w.minConfidence !== null) minConfidence = Math.min(minConfidence, w.minConfidence);
        for (const [label, c] of Object.entries(w.perClass)) {
          const into = (perClass[label] ??= { kept: 0, meanConfidence: 0 });
          into.kept += c.kept;
          into.meanConfidence += c.confSum; // a sum until divided below
        }
      }
      for (const c of Object.values(perClass)) c.meanConfidence /= c.kept;
      const metrics: PseudolabelMetrics = {
        rows,
        perClass,
        meanConfidence: rows ? confSum / rows : 0,
        minConfidence: rows ? minConfidence : 0,
        perRound: rows ? { [String(R)]: rows } : {},
        threshold: p.threshold,
        perClassCap: p.perClassCap ?? null,
        unlabeledDocs,
        labeledRows: teacher.labeledRows,
        teacher: teacher.teacher,
        trainer: stats,
      };
      await ctx.store.removePrefix(teacher.prefix);
      const kept = Object.entries(perClass).map(([l, c]) => `${l} ${c.kept}`).join(', ');
      ctx.log(`pseudolabel: kept ${rows} of ${unlabeledDocs} documents (${kept || 'none'}), mean confidence ${metrics.meanConfidence.toFixed(3)}`);
      return { files, schema: PSEUDO_LABEL_SCHEMA, metrics: { ...metrics } };
    },
  };
}

export const pseudolabelStage: StageImpl<Params> = {
  fanout: (params) => pseudolabelFanout(params),
  run: (ctx) => runPhasesInline(ctx, pseudolabelFanout(ctx.params)),

  async fingerprint(params: Params, env) {
    return { teacher: await modelDirFingerprint(params.teacher, env?.store), data: await taskFilesFingerprint([params.data.train], env?.store) };
  },
};
