/**
 * The trainer's event stream (stdout of `python -m trainer`, one JSON object per line): the second half of the
 * contract with the model stages, next to the config (schemas/trainer.ts). The activity parses every line with
 * these schemas; the trainer's tests check every event they collect against trainer/events.schema.json, generated
 * from them (`dapt schema --trainer-events`, kept current by a test), so a renamed or retyped field fails on both
 * sides instead of being cast through.
 */
import { z } from 'zod';

const count = z.number().int().min(0);
/** trainer/events.py sends no NaN or Infinity (JSON has none): every number is finite. */
const finite = z.number();

export const ProgressEvent = z
  .object({
    event: z.literal('progress'),
    step: count.describe('optimizer steps done (finetune, pseudolabel: over every model and seed of the run)'),
    total: count.describe('steps the run will take in all'),
    loss: finite.describe('mean training loss over the logging window'),
    lr: finite,
    tokensPerSec: finite.describe('over the logging window'),
    mfu: finite.optional().describe('model FLOPs utilisation (pretrain on a GPU)'),
    epoch: count.optional(),
    model: z.string().optional().describe('finetune, pseudolabel: which model the step belongs to'),
    seed: z.number().int().optional().describe('finetune, pseudolabel: which seed the step belongs to'),
    supervisedLoss: finite.optional().describe('finetune with UDA: the supervised term of loss'),
    consistencyLoss: finite.optional().describe('finetune with UDA: the consistency term of loss'),
    maskFraction: finite.optional().describe('finetune with UDA: the share of unlabeled examples whose consistency term counts'),
    contrastiveLoss: finite.optional().describe('pretrain with contrastive: the InfoNCE term over the window (unweighted); loss includes weight × it'),
  })
  .strict();

export const CheckpointEvent = z
  .object({
    event: z.literal('checkpoint'),
    step: count,
    path: z.string().min(1).describe('the complete checkpoint directory, relative to checkpointDir or absolute'),
  })
  .strict();

export const MetricEvent = z
  .object({
    event: z.literal('metric'),
    name: z.string().min(1).describe('a dotted metric name: train.*, eval.<set>.*, model.*, vocab.*, <model>.<measure>, pseudolabel.*'),
    value: finite,
    step: count.optional(),
  })
  .strict();

export const DoneEvent = z
  .object({
    event: z.literal('done'),
    outputDir: z.string(),
    metrics: z.record(z.string(), finite).describe('the run\'s final numbers under the same names as its metric events'),
  })
  .strict();

export const TrainerEvent = z.discriminatedUnion('event', [ProgressEvent, CheckpointEvent, MetricEvent, DoneEvent]);
export type TrainerEvent = z.output<typeof TrainerEvent>;
export const TRAINER_EVENT_KINDS = TrainerEvent.options.map((o) => o.shape.event.value);

/** JSON Schema of one event line, for the trainer's side (trainer/events.schema.json). */
export function trainerEventsJsonSchema(): Record<string, unknown> {
  return { ...(z.toJSONSchema(TrainerEvent, { io: 'output' }) as Record<string, unknown>), title: 'dapt trainer event' };
}

/**
 * Parses one stdout line. Not an event (not a JSON object with a string `event`): undefined, the line is a stray
 * print. An event that breaks the schema: an error message naming the event and each field that is wrong.
 */
export function parseTrainerEvent(line: string): { event: TrainerEvent } | { error: string } | undefined {
  if (!line.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const kind = (value as { event?: unknown } | null)?.event;
  if (typeof kind !== 'string') return undefined;
  if (!(TRAINER_EVENT_KINDS as string[]).includes(kind)) {
    return { error: `unknown trainer event '${kind}' (known: ${TRAINER_EVENT_KINDS.join(', ')}): ${line.slice(0, 200)}` };
  }
  const parsed = TrainerEvent.safeParse(value);
  if (parsed.success) return { event: parsed.data };
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
  return { error: `malformed trainer event '${kind}': ${issues}: ${line.slice(0, 200)}` };
}
