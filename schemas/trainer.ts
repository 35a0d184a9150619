/**
 * The trainer's configuration: the contract between the TypeScript model stages and `python -m trainer`.
 * The activity writes it as JSON; the trainer validates it against the JSON Schema generated from these zod
 * schemas (trainer/config.schema.json, kept current by a test), so both sides agree field by field.
 */
import { z } from 'zod';

export const ModelSpec = z
  .object({
    path: z.string().min(1).describe('local directory of a Hugging Face format model (config, safetensors, tokenizer)'),
    objective: z.enum(['mlm', 'clm']).describe('mlm for encoders (BERT-style), clm for decoders (GPT-style)'),
  })
  .strict();

/** Training-time changes to the base model's config.json (e.g. dropout off); the saved model keeps the base's values. */
export const ConfigOverrides = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a config attribute name'), z.union([z.number(), z.boolean(), z.string()]))
  .describe('training-time overrides of the base model config (attribute → value, e.g. {"attention_probs_dropout_prob": 0}); each must be an attribute the config has, of the same type; the saved model keeps the base values');

export const PretrainModelSpec = ModelSpec.extend({ configOverrides: ConfigOverrides.optional() }).strict();

export const DataSpec = z
  .object({
    train: z.array(z.string()).default([]).describe('JSONL(.gz) document shards, one {"text": ...} per line (this or tokens)'),
    tokens: z.array(z.string()).default([]).describe('token shards of a tokenize stage (trainer/token_shards.py), read as they are instead of tokenising `train`; each must come from this model\'s tokenizer and these encode settings'),
    eval: z.array(z.string()).default([]).describe('held-out domain shards'),
    generalEval: z.array(z.string()).default([]).describe('held-out general-domain shards: the forgetting probe'),
    replay: z
      .object({ paths: z.array(z.string()).min(1), ratio: z.number().min(0).max(1) })
      .strict()
      .optional()
      .describe('general-domain text mixed into training at this fraction of sequences'),
    textField: z.string().default('text'),
    seqLen: z.number().int().min(8).max(8192).default(128),
    packing: z.boolean().default(true).describe('concatenate documents into full sequences'),
    evalMaxSequences: z.number().int().positive().default(256),
    tokenCache: z
      .object({
        dir: z.string().min(1).describe('local directory of token shards, shared by retries, resumes, DDP ranks and later runs on this machine'),
        maxBytes: z.number().int().positive().default(20 * 2 ** 30).describe('least recently used shards beyond this size are evicted'),
      })
      .strict()
      .optional()
      .describe('stream training data from token shards (tokenised once per document shard and tokenizer, memory-mapped) instead of tokenising the corpus into memory'),
  })
  .strict();

export const MaskingSpec = z
  .object({
    strategy: z.enum(['token', 'whole-word', 'lexicon']).default('whole-word'),
    rate: z.number().gt(0).lt(1).default(0.15),
    /** Lexicon file: one word per line, or JSONL with a `word` field (the `newwords` artifact). */
    lexicon: z.string().optional(),
    language: z.enum(['auto', 'en', 'zh']).default('auto'),
  })
  .strict();

export const VocabSpec = z
  .object({
    lexicon: z.string().describe('words to add as single tokens (newwords artifact)'),
    maxNewTokens: z.number().int().nonnegative().default(1000),
    minSubtokens: z.number().int().min(2).default(2).describe('only add words the base tokenizer splits into at least this many pieces'),
    padToMultipleOf: z.number().int().positive().default(64),
  })
  .strict();

/** Dictionary-enhanced MLM (trainer/definitions.py): definitions of the terms a sequence mentions appended to it. */
export const DictionarySpec = z
  .object({
    path: z.string().describe('JSONL {term, definition, selected?} per line: the dictionary.jsonl a longtail stage writes'),
    inject: z.enum(['selected', 'all']).default('selected').describe('selected: only terms the long-tail analysis selected (selected: true); all: every defined term'),
    maxDefinitionTokens: z.number().int().positive().optional().describe('appended tokens per sequence at most, [SEP]s included (default: seqLen / 4); the text\'s tail is cut to make room'),
    perTermTokens: z.number().int().positive().default(32).describe('tokens of one "term: definition" segment at most (longer definitions are cut)'),
  })
  .strict();

export const LoraAdapterSpec = z
  .object({
    type: z.literal('lora'),
    r: z.number().int().positive().default(8),
    alpha: z.number().positive().default(16),
    dropout: z.number().min(0).max(1).default(0.05),
    targetModules: z.array(z.string()).optional().describe('default: the attention projections of the architecture'),
  })
  .strict();

/** T-DNA (trainer/ngram_adapter.py): the base frozen, the lexicon's n-grams embedded and added to the lower layers. */
export const NgramAdapterSpec = z
  .object({
    type: z.literal('ngram'),
    lexicon: z.string().min(1).describe('the n-grams: one word or phrase per line, or JSONL with a `word` field (the newwords artifact); the pretrain stage fills it from its lexicon input'),
    layers: z.number().int().positive().default(2).describe('the lower K encoder layers whose outputs get the n-gram representations added'),
    maxNgrams: z.number().int().positive().default(10000).describe('at most this many n-grams, in lexicon order (after dropping terms the tokenizer keeps whole or cannot spell, and rare ones)'),
    minFreq: z.number().int().positive().default(1).describe('occurrences an n-gram needs in the tokenised training sequences'),
    init: z.enum(['zero', 'normal']).default('zero').describe('zero: the adapted model starts as exactly the base model; normal: n-gram embeddings drawn from N(0, 0.02)'),
  })
  .strict();

export const AdapterSpec = z
  .discriminatedUnion('type', [LoraAdapterSpec, NgramAdapterSpec])
  .describe('train adapters on a frozen base: lora (low-rank updates, merged into the saved model) or ngram (T-DNA n-gram adapters, saved beside the model)');

export const TrainSpec = z
  .object({
    maxSteps: z.number().int().positive(),
    batchSize: z.number().int().positive().default(8).describe('sequences per micro-batch'),
    gradAccum: z.number().int().positive().default(1),
    lr: z.number().positive().default(5e-5),
    warmupSteps: z.number().int().nonnegative().default(0),
    schedule: z.enum(['linear', 'cosine', 'constant']).default('linear'),
    weightDecay: z.number().min(0).default(0.01),
    clipNorm: z.number().positive().default(1.0),
    seed: z.number().int().default(42),
    precision: z.enum(['auto', 'fp32', 'bf16']).default('auto').describe('auto: bf16 autocast on GPU, fp32 on CPU'),
    compile: z.boolean().default(false),
    checkpointEvery: z.number().int().positive().default(500),
    logEvery: z.number().int().positive().default(10),
    evalEvery: z.number().int().positive().optional(),
    ema: z.object({ decay: z.number().gt(0).lt(1) }).strict().optional(),
    swa: z.object({ startFraction: z.number().gt(0).lt(1) }).strict().optional().describe('average weights over the final part of training'),
    adapter: AdapterSpec.optional(),
    oomBatchHalving: z.boolean().default(false).describe('on CUDA OOM, halve the micro-batch (doubling accumulation) and go on'),
    headWarmupSteps: z
      .union([z.literal('auto'), z.number().int().nonnegative()])
      .default('auto')
      .describe("steps at the start that train only the LM head (encoder frozen); auto: 25% of maxSteps (at most 1000) when the base model's checkpoint has no LM head weights, else 0"),
  })
  .strict();

/** SimCSE-style InfoNCE between two dropout views of the [CLS] states, in-batch negatives, added to the task loss. */
export const ContrastiveSpec = z
  .object({
    weight: z.number().min(0).default(0.1).describe('weight of the InfoNCE term'),
    temperature: z.number().gt(0).max(1).default(0.05).describe('τ of cos(h, h′)/τ'),
  })
  .strict();

/**
 * Contrastive continual pretraining: MLM + weight × InfoNCE between two dropout views of each sequence's pooled
 * state (the MLM forward's and one extra body forward's), the micro-batch's other sequences as negatives.
 */
export const PretrainContrastiveSpec = ContrastiveSpec.extend({
  pooling: z.enum(['cls', 'mean']).default('cls').describe("a sequence's state: its first ([CLS]) position's, or the mean over its tokens"),
}).strict();

export const PretrainConfig = z
  .object({
    command: z.literal('pretrain'),
    model: PretrainModelSpec,
    data: DataSpec,
    masking: MaskingSpec.default({ strategy: 'whole-word', rate: 0.15, language: 'auto' }),
    vocab: VocabSpec.optional(),
    dictionary: DictionarySpec.optional().describe('MLM only: append the definitions of the dictionary terms each training sequence mentions (Dict-BERT); held-out evaluation gets none'),
    contrastive: PretrainContrastiveSpec.optional().describe('MLM only: add a SimCSE InfoNCE term (one extra body forward per micro-batch; negatives are the micro-batch\'s other sequences)'),
    train: TrainSpec,
    outputDir: z.string().describe('where the final model, tokenizer and metrics.json are written'),
    checkpointDir: z.string().describe('where step-N checkpoint directories are written'),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  })
  .strict();

export const EvaluateConfig = z
  .object({
    command: z.literal('evaluate'),
    /** name → model directory, e.g. { base: ..., adapted: ... } */
    models: z.record(z.string(), ModelSpec).refine((m) => Object.keys(m).length > 0, 'at least one model'),
    data: z
      .object({
        domain: z.array(z.string()).default([]).describe('domain evaluation shards (this or general must name a file)'),
        general: z.array(z.string()).default([]),
        textField: z.string().default('text'),
        seqLen: z.number().int().min(8).max(8192).default(128),
        maxSequences: z.number().int().positive().default(256),
      })
      .strict(),
    masking: MaskingSpec.default({ strategy: 'token', rate: 0.15, language: 'auto' }),
    seed: z.number().int().default(1234),
    batchSize: z.number().int().positive().default(16),
    outputDir: z.string(),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    phase: z
      .enum(['score', 'count'])
      .default('score')
      .describe('score: loss sums and metrics of the first sequences of each set; count: tokenizers only, how many of those sequences each file holds (sharded evaluation)'),
    limits: z
      .record(z.string(), z.record(z.string(), z.number().int().nonnegative()))
      .optional()
      .describe('model → set → how many sequences to take (default maxSequences): a shard\'s share of its set\'s first maxSequences'),
  })
  .strict();

/**
 * Translation of JSONL texts through one or more seq2seq models in turn ([forward, backward] is a
 * back-translation, the augment stage's paraphrases). Each text is split into sentences, translated in batches,
 * and rejoined; the output has one {id, text} line per input line, in order.
 */
export const TranslateConfig = z
  .object({
    command: z.literal('translate'),
    input: z.string().describe('JSONL {id, text} per line'),
    output: z.string().describe('JSONL {id, text} per line, in input order'),
    models: z
      .array(
        z
          .object({
            path: z.string().min(1).describe('local directory of a Hugging Face seq2seq model (AutoModelForSeq2SeqLM) with its tokenizer'),
            prefix: z.string().default('').describe('prepended to every source sentence (T5 task prefixes)'),
          })
          .strict(),
      )
      .min(1)
      .describe('applied in order'),
    temperature: z.number().min(0).max(2).default(0).describe('0: greedy / beam search; > 0: sampling at this temperature'),
    numBeams: z.number().int().min(1).max(16).default(1),
    maxLength: z.number().int().min(8).max(1024).default(256).describe('tokens per sentence, in and out'),
    batchSize: z.number().int().positive().default(16),
    seed: z.number().int().default(0),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  })
  .strict();

/** A model to fine-tune: a local Hugging Face directory (an MLM checkpoint, a tiny BERT, or a task model). */
export const TaskModelSpec = z
  .object({ path: z.string().min(1).describe('local directory of a Hugging Face format encoder (config, weights, tokenizer)') })
  .strict();

/** A model to fine-tune and what only it trains on: an ablation's arms differ in these (e.g. adapted+pl). */
export const FinetuneModelSpec = TaskModelSpec.extend({
  train: z.array(z.string()).optional().describe('labeled JSONL(.gz) that only this model trains on, after data.train (e.g. pseudo-labels)'),
  uda: z.boolean().default(true).describe('false: this model trains without the uda consistency loss'),
}).strict();

const Device = z.enum(['auto', 'cpu', 'cuda']).default('auto');

export const FinetuneDataSpec = z
  .object({
    train: z.array(z.string()).min(1).describe('labeled JSONL(.gz): {text, label} (classification) or {tokens, tags} (ner, BIO tags)'),
    dev: z.array(z.string()).optional().describe('labeled; when given, the epoch with the best dev score is the one tested'),
    test: z.array(z.string()).min(1).describe('labeled; the reported metrics'),
    unlabeled: z.array(z.string()).optional().describe('UDA pairs, JSONL(.gz) {text, augmented} (classification only)'),
    textField: z.string().default('text'),
    labelField: z.string().default('label'),
    tokensField: z.string().default('tokens'),
    tagsField: z.string().default('tags'),
    maxLength: z.number().int().min(8).max(8192).default(128).describe('sub-tokens per example, special tokens included'),
  })
  .strict();

export const UdaSpec = z
  .object({
    weight: z.number().min(0).default(1).describe('consistency loss weight (λ)'),
    confidenceThreshold: z.number().min(0).max(1).default(0.8).describe('an unlabeled example counts only where max p(original) ≥ this'),
    temperature: z.number().gt(0).max(1).default(0.4).describe('sharpening of the target distribution p(original)^(1/T)'),
    tsa: z.enum(['none', 'linear', 'log', 'exp']).default('none').describe('training-signal annealing of the supervised loss'),
    unlabeledBatchRatio: z.number().int().positive().default(3).describe('unlabeled pairs per labeled example in a step'),
  })
  .strict();

export const NoiseSpec = z
  .object({
    method: z.literal('confident-learning'),
    folds: z.number().int().min(2).default(4).describe('k of the k-fold out-of-fold probabilities'),
    action: z.enum(['drop', 'downweight']).default('drop'),
    weight: z.number().min(0).max(1).default(0.2).describe('loss weight of flagged rows when action is downweight'),
    model: z.string().optional().describe('which of `models` computes the out-of-fold probabilities (default: base, else the first)'),
    epochs: z.number().int().positive().optional().describe('epochs of each fold model, not capped by maxSteps (default: epochs and maxSteps)'),
  })
  .strict();

/** Adversarial training on the word embeddings (trainer/robust.py): FGM one step of ε, PGD K projected steps. */
export const AdversarialSpec = z
  .object({
    method: z.enum(['fgm', 'pgd']).default('fgm').describe('fgm: one step of L2 length epsilon along the gradient; pgd: `steps` steps of `alpha`, projected onto the epsilon-ball'),
    epsilon: z.number().gt(0).default(1).describe('L2 radius of the perturbation of the word-embedding matrix'),
    steps: z.number().int().min(1).max(20).default(3).describe('pgd: ascent steps K (K extra forward/backward passes per step)'),
    alpha: z.number().gt(0).default(0.3).describe('pgd: L2 length of each ascent step'),
  })
  .strict();

/** Prompt-based fine-tuning (PET / LM-BFF): the MLM head scores one label word per class at the template's mask. */
export const PromptSpec = z
  .object({
    template: z
      .string()
      .refine((t) => t.split('{text}').length === 2 && t.split('[MASK]').length === 2, 'must hold {text} and [MASK] exactly once each')
      .describe('the input with one label slot, e.g. "{text} This package is about [MASK]."; {text}: the example, [MASK]: the slot'),
    verbalizer: z
      .record(z.string(), z.string().min(1))
      .refine((v) => Object.keys(v).length >= 2, 'at least two labels')
      .describe('label → its label word, one token of the model\'s vocabulary (checked when the model is loaded)'),
  })
  .strict();

/** R-Drop: two dropout passes, their mean loss + alpha × the symmetric KL between them. */
export const RDropSpec = z
  .object({ alpha: z.number().min(0).default(1).describe('weight of the symmetric KL between the two passes') })
  .strict();

/** Train rows whose label disagrees with their embedding cluster, listed for a person (trainer/label_review.py). */
export const LabelReviewSpec = z
  .object({
    clusters: z.number().int().min(2).optional().describe('k of k-means (default: ⌈√(N/2)⌉ for N train rows)'),
    purity: z.number().gt(0).max(1).default(0.6).describe('a cluster whose majority label holds at least this share lists its other rows as suspects; below it the cluster is listed as mixed'),
    model: z.string().optional().describe('which of `models` embeds the texts (default: base, else the first)'),
  })
  .strict();

/** The interval of a model's difference to the base: paired bootstrap over seeds × test items. */
export const IntervalSpec = z
  .object({
    confidence: z.number().gt(0).lt(1).default(0.95).describe('two-sided coverage of the percentile interval'),
    resamples: z.number().int().min(100).max(100_000).default(2000),
    seed: z.number().int().default(0).describe('seed of the resampling (not a fine-tuning seed)'),
  })
  .strict();

/** One task of a multi-task fine-tuning (trainer/multitask.py): its data, labels and its own head on the shared encoder. */
export const FinetuneTaskSpec = z
  .object({
    task: z.enum(['classification', 'ner']).default('classification'),
    data: FinetuneDataSpec.omit({ unlabeled: true }),
    labels: z.array(z.string()).min(1).optional().describe('default: those of the task\'s train set, sorted'),
  })
  .strict();

/** How a multi-task step picks its task: p_t ∝ n_t^(1/T) over the tasks' train rows n_t (size: T = 1). */
export const TaskSamplingSpec = z
  .object({
    strategy: z.enum(['size', 'temperature']).default('temperature').describe('size: p_t ∝ n_t; temperature: p_t ∝ n_t^(1/T), flatter for T > 1 (small tasks sampled more)'),
    temperature: z.number().min(1).max(100).default(2).describe('T of the temperature strategy'),
  })
  .strict();

export const FinetuneConfig = z
  .object({
    command: z.literal('finetune'),
    task: z.enum(['classification', 'ner']).optional().describe('required unless tasks'),
    /** name → encoder directory, e.g. { base: ..., adapted: ... }: every model gets the same seeds, data and budget */
    models: z.record(z.string(), FinetuneModelSpec).refine((m) => Object.keys(m).length > 0, 'at least one model'),
    data: FinetuneDataSpec.optional().describe('the single task (required unless tasks)'),
    tasks: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'a task name (letters, digits, _ and -)'), FinetuneTaskSpec)
      .optional()
      .describe('several tasks instead of task/data: one shared encoder, one head per task, a step samples a task by taskSampling; at least two tasks'),
    taskSampling: TaskSamplingSpec.default({ strategy: 'temperature', temperature: 2 }).describe('multi-task: which task a step trains'),
    labels: z.array(z.string()).min(1).optional().describe('class labels (ner: entity types or BIO tags); default: those of the train set, sorted'),
    seeds: z.array(z.number().int()).min(1).default([1, 2, 3]),
    epochs: z.number().int().positive().default(3),
    maxSteps: z.number().int().positive().optional().describe('cap on optimizer steps per model and seed'),
    batchSize: z.number().int().positive().default(16),
    lr: z.number().positive().default(5e-5),
    weightDecay: z.number().min(0).default(0.01),
    warmupRatio: z.number().min(0).max(1).default(0.1),
    uda: UdaSpec.optional(),
    imbalance: z
      .enum(['none', 'weights', 'resample', 'ensemble'])
      .default('none')
      .describe('weights: inverse-frequency loss weights; resample: class-balanced sampling; ensemble: ensembleMembers models per seed, each on a class-balanced subset (the classes above the median size undersampled), probabilities averaged'),
    ensembleMembers: z.number().int().min(2).max(20).default(3).describe('imbalance ensemble: models per seed (each costs a full fine-tuning)'),
    noise: NoiseSpec.optional(),
    ema: z.object({ decay: z.number().gt(0).lt(1).default(0.999) }).strict().optional().describe('evaluate with an exponential moving average of the weights'),
    adversarial: AdversarialSpec.optional().describe('adversarial training on the word embeddings (FGM or PGD), every model alike'),
    rdrop: RDropSpec.optional().describe('R-Drop: consistency between two dropout passes, every model alike'),
    labelReview: LabelReviewSpec.optional().describe('list train rows whose label disagrees with their embedding cluster, for a person to review (no rows are changed)'),
    contrastive: ContrastiveSpec.optional().describe('a contrastive (SimCSE) auxiliary loss on two dropout views of the [CLS] states, every model alike'),
    prompt: PromptSpec.optional().describe('classification by the MLM head at a template\'s mask over label words (no new classifier head), every model alike'),
    dictionary: DictionarySpec.pick({ path: true, inject: true })
      .strict()
      .optional()
      .describe('classification: after each example\'s text, the definitions of the dictionary terms it mentions ([SEP] term: definition ...), in train, dev, test and UDA texts alike, every model alike; the text is kept whole, the definitions fill what maxLength leaves'),
    interval: IntervalSpec.default({ confidence: 0.95, resamples: 2000, seed: 0 }).describe(
      'the paired bootstrap of every model against "base" (trainer/paired_bootstrap.py): metrics.json comparison',
    ),
    logEvery: z.number().int().positive().default(10),
    outputDir: z.string().describe('metrics.json (and model/ with saveModel)'),
    device: Device,
    saveModel: z
      .object({ model: z.string(), seed: z.number().int().optional().describe('default: the first seed') })
      .strict()
      .optional()
      .describe('save this fine-tuned task model (HF format) to outputDir/model'),
  })
  .strict();

export const PseudolabelConfig = z
  .object({
    command: z.literal('pseudolabel'),
    teacher: TaskModelSpec.describe('an encoder (fine-tuned on data.train first) or a sequence-classification model with these labels'),
    data: z
      .object({
        train: z.array(z.string()).default([]).describe('labeled JSONL(.gz) {text, label} (phases all, teacher, student)'),
        unlabeled: z.array(z.string()).default([]).describe('documents JSONL(.gz) {text} (phases all, label)'),
        pseudo: z.array(z.string()).default([]).describe('phase student: the kept rows of the previous round, JSONL {text, label}, in selection order'),
        textField: z.string().default('text'),
        labelField: z.string().default('label'),
        maxLength: z.number().int().min(8).max(8192).default(128),
      })
      .strict(),
    labels: z.array(z.string()).min(1).optional().describe('default: those of the train set, sorted'),
    threshold: z.number().min(0).max(1).default(0.9).describe('keep a pseudo-label only where the teacher confidence ≥ this'),
    perClassCap: z
      .union([z.number().int().positive(), z.literal('balanced')])
      .optional()
      .describe('at most this many rows per class (the most confident); balanced: as many as the rarest class with any'),
    rounds: z.number().int().positive().default(1).describe('noisy student: round r > 1 labels with the student of round r − 1'),
    studentDropout: z.number().min(0).lt(1).default(0.1).describe('dropout noise of the students (hidden and attention)'),
    seed: z.number().int().default(1),
    epochs: z.number().int().positive().default(3),
    maxSteps: z.number().int().positive().optional(),
    batchSize: z.number().int().positive().default(16),
    lr: z.number().positive().default(5e-5),
    weightDecay: z.number().min(0).default(0.01),
    warmupRatio: z.number().min(0).max(1).default(0.1),
    logEvery: z.number().int().positive().default(10),
    outputDir: z.string().describe('all: pseudo.jsonl and stats.json; teacher: teacher.json (+ model/); label: candidates.bin, label.json; student: model/'),
    device: Device,
    phase: z
      .enum(['all', 'teacher', 'label', 'student'])
      .default('all')
      .describe('all: every round in one process; teacher: fine-tune (or check) the teacher; label: one shard\'s candidates; student: a noisy student on the labeled and kept rows'),
    round: z.number().int().positive().default(1).describe('phase student: the round whose kept rows it learns from (seed + round)'),
  })
  .strict();

/**
 * The tokenizer half of the long-tail analysis (trainer/longtail.py): into how many sub-tokens the base model's
 * tokenizer cuts each term of a lexicon, the way the term appears inside text.
 */
export const LongtailConfig = z
  .object({
    command: z.literal('longtail'),
    model: z.string().min(1).describe('the base model directory: only its tokenizer is loaded'),
    terms: z.string().min(1).describe('the lexicon: JSONL with a `word` per line, or one term a line'),
    output: z.string().min(1).describe('JSONL {word, pieces, tokens, unknown} per term, in input order'),
  })
  .strict();

/** One document shard into one token shard (trainer/tokenize.py): the task of the tokenize stage's fan-out. */
export const TokenizeConfig = z
  .object({
    command: z.literal('tokenize'),
    model: ModelSpec.describe('only its tokenizer is loaded; the objective decides whether an EOS follows each document (clm) and whether masking needs word flags (mlm)'),
    input: z.string().min(1).describe('one JSONL(.gz) document shard'),
    output: z.string().min(1).describe('the token shard to write'),
    summary: z.string().min(1).describe('JSON {key, tokenizer, encode, tokens, docs, dtype} of the shard written'),
    masking: MaskingSpec.default({ strategy: 'whole-word', rate: 0.15, language: 'auto' }).describe('as the pretraining will mask: whole-word and lexicon masking need word flags in the shard'),
    textField: DataSpec.shape.textField,
    seqLen: DataSpec.shape.seqLen.describe('changes tokens only without packing (documents are truncated to it)'),
    packing: DataSpec.shape.packing,
  })
  .strict();

export const TrainerConfig = z.discriminatedUnion('command', [PretrainConfig, EvaluateConfig, FinetuneConfig, PseudolabelConfig, TranslateConfig, LongtailConfig, TokenizeConfig]);
export type TrainerConfigT = z.output<typeof TrainerConfig>;
export type PretrainConfigT = z.output<typeof PretrainConfig>;
export type EvaluateConfigT = z.output<typeof EvaluateConfig>;
export type TranslateConfigT = z.output<typeof TranslateConfig>;
export type LongtailConfigT = z.output<typeof LongtailConfig>;
export type TokenizeConfigT = z.output<typeof TokenizeConfig>;
export type FinetuneConfigT = z.output<typeof FinetuneConfig>;
export type PseudolabelConfigT = z.output<typeof PseudolabelConfig>;

/** JSON Schema of the config as the trainer receives it: defaults already applied by the activity. */
export function trainerJsonSchema(): Record<string, unknown> {
  return { ...(z.toJSONSchema(TrainerConfig, { io: 'output' }) as Record<string, unknown>), title: 'dapt trainer config' };
}

/** The trainer's event stream: its zod schemas and parser are in trainer-events.ts. */
export type { TrainerEvent } from './trainer-events';

/** Exit codes (DESIGN.md): 0 done, 2 bad config, 3 out of memory, 143 terminated after a checkpoint. */
export const TRAINER_EXIT = { ok: 0, badConfig: 2, oom: 3, terminated: 143 } as const;
