"""Continual pretraining: one training loop, in order — setup, data, model, optimizer, resume, loop, finish.

    PYTHONPATH=. python -m trainer pretrain --config cfg.json
    PYTHONPATH=. python -m trainer pretrain --config cfg.json --resume ckpt/step-500   # or --resume ckpt (latest)

One optimizer step consumes batchSize × gradAccum sequences from the data stream (data.py): slots
[position, position + n). The step's masks come from an rng seeded with (seed, position), so what a step sees is a
pure function of its position; a checkpoint stores the position (plus model, optimizer, EMA/SWA, RNG states and
the config) and a resumed run continues with exactly the batches, masks and dropout draws it would have had.
Events go to stdout (events.py), logs to stderr. With `contrastive` the loss is MLM + weight × InfoNCE
(model.ContrastiveMaskedLM); progress events carry the InfoNCE term as contrastiveLoss.

DDP: under torchrun (WORLD_SIZE > 1) every rank builds (reads, masks) the whole step exactly as one process would
and trains on its contiguous share of the step's sequences; gradients are scaled so that DDP's average equals the
one-process gradient over the whole step (same data order, same resume semantics). Each rank has its own dropout
stream (torch seeded with seed + rank for rank > 0; every rank's torch/CUDA RNG state is in the checkpoint). Only
rank 0 writes events, checkpoints and the model; SIGTERM is all-reduced every step so all ranks stop at the same one.
What differs under DDP lives in distributed.py and checkpoint.save_checkpoint, as no-ops in one process: the loop
has one path for both.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from . import checkpoint as ckpt
from . import ngram_adapter
from .averaging import Averages
from .base_weights import unused_base_weights
from .batch import StepBatches, step_batches
from .config import PretrainConfig
from .data import Stream, read_texts, rng_for, tokenize_corpus
from .definitions import DictionaryTotals, load_definitions
from .distributed import Ranks, accumulating, process_group, wrap_ddp
from .errors import ConfigError, OutOfMemory, Terminated
from .evaluate import autocast_for, evaluate_batches, heldout_batches, make_masker, make_segmenter, pick_device
from .events import Events, log
from .interval import Interval
from .model import (add_lora, flops_model, head_parameters, head_warmup_steps, load_model_checked, load_tokenizer,
                    lr_at, objective_for, peak_flops, restore_config, training_objective_for)
from .token_shards import EncodeParams, ShardCache, shard_corpus, stored_corpus
from .vocab import extend_tokenizer, resize_embeddings, tokens_per_doc
from .words import Segmenter, read_lexicon


@dataclass
class TrainState:
    """What the loop carries from step to step (saved in every checkpoint)."""

    micro: int  # sequences per micro-batch (halved on CUDA OOM when allowed)
    step: int = 0  # optimizer steps done
    position: int = 0  # next slot of the data stream
    tokens: int = 0  # tokens trained on so far
    loss_log: list = field(default_factory=list)  # [step, mean loss since the previous log]
    contrastive_log: list = field(default_factory=list)  # [step, mean InfoNCE since the previous log] (contrastive)
    dictionary: DictionaryTotals = field(default_factory=DictionaryTotals)  # definitions appended (definitions.py)

    def __post_init__(self):
        if isinstance(self.dictionary, dict):  # from a checkpoint (asdict made it a dict)
            self.dictionary = DictionaryTotals(**self.dictionary)


class SigtermFlag:
    """SIGTERM sets `.requested`; the loop checkpoints after the current step and exits with 143."""

    def __init__(self):
        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            self._previous = signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum, frame):
        log.warning("SIGTERM: finishing the current step, then checkpoint and exit")
        self.requested = True

    def restore(self):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def pretrain(cfg: PretrainConfig, resume: str | None = None, events: Events | None = None,
             stop: Callable[[int], bool] | None = None) -> dict[str, float]:
    """Run the whole stage; returns the final metrics. `stop(step)` (benchmarks) ends the loop early."""
    sigterm = SigtermFlag()
    ranks = Ranks.from_env()
    # ranks other than 0 are silent on stdout
    events = (events or Events()) if ranks.main else Events(echo=False)
    try:
        with process_group(ranks, pick_device(cfg.device)):
            return _pretrain(cfg, resume, events, stop, sigterm, ranks)
    finally:
        sigterm.restore()


def _pretrain(cfg: PretrainConfig, resume: str | None, events: Events, stop, sigterm: SigtermFlag,
              ranks: Ranks) -> dict:
    t = cfg.train
    # ------------------------------------------------------------------------------------------------ setup
    resume_dir = _find_checkpoint(resume) if resume else None
    device = ranks.device(pick_device(cfg.device))
    if ranks.on and t.batch_size * t.grad_accum < ranks.world:
        raise ConfigError(f"train.batchSize × train.gradAccum ({t.batch_size * t.grad_accum}) is smaller than the "
                          f"number of DDP processes ({ranks.world}): every rank needs a sequence per step")
    autocast = autocast_for(device, t.precision)
    random.seed(t.seed)
    np.random.seed(t.seed % 2**32)
    torch.manual_seed(t.seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    mlm = cfg.model.objective == "mlm"
    metrics: dict[str, float] = {}
    log.info("pretrain: %s (%s) on %s, %d steps", cfg.model.path, cfg.model.objective, device, t.max_steps)

    # ------------------------------------------------------------------------------------------------ data
    tokenizer = load_tokenizer(cfg.model.path)
    ext = None
    if cfg.vocab is not None:
        ext, found = _extend_vocab(cfg, tokenizer, ranks)
        tokenizer = ext.tokenizer
        metrics.update(found)
        for k, v in found.items():
            events.metric(k, v)
    segmenter = make_segmenter(cfg.masking, cfg.model.objective)
    masker = make_masker(tokenizer, cfg.masking) if mlm else None
    definitions = None
    if cfg.dictionary is not None:  # finding its terms needs word boundaries, whatever the masking strategy
        definitions = load_definitions(cfg.dictionary, tokenizer, cfg.data.seq_len, cfg.model.objective)
    train_segmenter = segmenter or (Segmenter(cfg.masking.language) if definitions is not None else None)
    stream = _training_stream(cfg, tokenizer, train_segmenter, metrics, events)
    heldout = {}
    for name, paths in (("domain", cfg.data.eval), ("general", cfg.data.general_eval)):
        heldout[name] = heldout_batches(paths, tokenizer, cfg.model.objective, seq_len=cfg.data.seq_len,
                                        max_sequences=cfg.data.eval_max_sequences, text_field=cfg.data.text_field,
                                        packing=cfg.data.packing, masking=cfg.masking, segmenter=segmenter,
                                        seed=t.seed, batch_size=t.batch_size)

    # ------------------------------------------------------------------------------------------------ model
    # fp32; bf16 inside autocast
    model, head_missing, base_has_unused = load_model_checked(cfg.model.path, cfg.model.objective,
                                                              cfg.model.config_overrides)
    head_warmup = head_warmup_steps(t.head_warmup_steps, t.max_steps, head_missing)
    if head_missing:
        metrics["model.headInitialised"] = 1.0
        events.metric("model.headInitialised", 1.0)
        log.warning("%s has no %s head weights: the head starts random and trains alone for the first %d steps",
                    cfg.model.path, cfg.model.objective.upper(), head_warmup)
    if head_warmup:
        metrics["train.headWarmupSteps"] = float(head_warmup)
        events.metric("train.headWarmupSteps", float(head_warmup))
        if head_warmup >= t.max_steps:
            log.warning("train.headWarmupSteps (%d) ≥ train.maxSteps (%d): the encoder will not train",
                        head_warmup, t.max_steps)
    if ext is not None:
        rows = resize_embeddings(model, ext, cfg.vocab.pad_to_multiple_of)
        metrics["vocab.embeddingRows"] = rows
    head_ids = {id(p) for p in head_parameters(model).values()}  # after a resize, which may replace them
    flops = flops_model(model, cfg.model.objective)
    peft_model = None
    if t.adapter is not None:
        a = t.adapter
        if a.type == "ngram":  # base frozen, the adapter saved beside the model (ngram_adapter.py)
            _, found = ngram_adapter.add_for_training(a, model, tokenizer, stream.sources[0], cfg.model.objective)
            metrics.update(found)
            for k, v in found.items():
                events.metric(k, v)
        else:
            peft_model = add_lora(model, a.r, a.alpha, a.dropout, a.target_modules)
        if ext is not None:  # the new rows must learn: embeddings (and a tied/untied output + bias) train fully
            model.get_input_embeddings().weight.requires_grad_(True)
            out = model.get_output_embeddings()
            for p in out.parameters() if out is not None else ():
                p.requires_grad_(True)
        if head_missing:  # a random head under a frozen base would stay random
            for p in model.parameters():
                if id(p) in head_ids:
                    p.requires_grad_(True)
    model.to(device).train()
    objective = objective_for(model, cfg.model.objective)  # held-out evaluation: MLM/CLM alone
    train_objective = training_objective_for(model, cfg.model.objective, cfg.contrastive)
    ddp_model = wrap_ddp(model, train_objective, device, ranks, t.seed)
    step_fn = ddp_model if ddp_model is not None else train_objective
    step_fn = torch.compile(step_fn) if t.compile else step_fn
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    log.info("model: %.1fM parameters, %.1fM trainable", sum(p.numel() for p in model.parameters()) / 1e6,
             sum(p.numel() for p in params.values()) / 1e6)

    # ------------------------------------------------------------------------------------------------ optimizer
    decay = [p for p in params.values() if p.dim() >= 2]  # matrices and embeddings; not biases or norms
    no_decay = [p for p in params.values() if p.dim() < 2]
    # Head warm-up drops the encoder's gradients after backward (DDP's all-reduce is unchanged); AdamW skips
    # parameters without a gradient, weight decay included, so the encoder stays bit-identical until then.
    frozen_in_warmup = [p for p in params.values() if id(p) not in head_ids]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": t.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=t.lr, betas=(0.9, 0.999), eps=1e-8, fused=True)  # fused: CUDA and CPU kernels
    swa_start = round(t.max_steps * (1 - t.swa.start_fraction)) if t.swa is not None else None
    averages = Averages(params, t.ema.decay if t.ema is not None else None, swa_start)
    state = TrainState(micro=t.batch_size)
    if resume_dir is not None:
        state = _resume(resume_dir, cfg, device, ranks, params, optimizer, averages)

    # ------------------------------------------------------------------------------------------------ loop
    n_seqs = t.batch_size * t.grad_accum  # sequences per optimizer step, whatever the micro-batch size
    body_passes = 2 if cfg.contrastive is not None else 1  # the contrastive view is one more body forward (MFU)
    peak = peak_flops(device)
    lr = lr_at(state.step, t.lr, t.warmup_steps, t.max_steps, t.schedule)
    interval = Interval(device)
    if ranks.any(sigterm.requested):
        raise Terminated(None)

    # The next step's batches are built (read, masked, pinned, copied) on a CPU thread while the device runs
    # this step. What a step sees depends only on its data position and micro-batch size, so this changes
    # nothing but the speed; a mismatch (after OOM halving) just rebuilds in place. Under DDP every rank masks
    # the whole step as one process would, then trains on its share of the sequences.
    def prepare(position: int, micro: int) -> StepBatches:
        seqs, injected = stream.batch(position, n_seqs), None
        if definitions is not None:
            seqs, injected = definitions.inject(seqs)
        step = step_batches(seqs, position, micro, masker, rng_for(t.seed, position), ranks.share(n_seqs), device)
        step.injected = injected
        return step

    ahead_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batches")
    ahead = ahead_pool.submit(prepare, state.position, state.micro)
    while state.step < t.max_steps and not (stop is not None and stop(state.step)):
        lr = lr_at(state.step, t.lr, t.warmup_steps, t.max_steps, t.schedule)
        for group in optimizer.param_groups:
            group["lr"] = lr
        step = ahead.result()
        if (step.position, step.micro) != (state.position, state.micro):
            step = prepare(state.position, state.micro)
        ahead = ahead_pool.submit(prepare, state.position + n_seqs, state.micro)
        n_targets = max(1, step.targets)  # the whole step's targets: every target token weighs the same
        try:
            step_loss = torch.zeros((), device=device)
            step_nce = torch.zeros((), device=device) if cfg.contrastive is not None else None
            for i, b in enumerate(step.batches):
                with accumulating(ddp_model, last=i == len(step.batches) - 1):
                    with autocast:
                        loss_sum, nce = step_fn(*b.args())  # nce: None, or the micro-batch's InfoNCE (model.py)
                    loss = loss_sum / n_targets
                    if step_nce is not None:  # a mean over the micro-batch's rows: weighted by their share of the step
                        nce = nce * (len(b.input_ids) / n_seqs)
                        loss = loss + cfg.contrastive.weight * nce
                        step_nce += nce.detach()
                    (loss * ranks.world).backward()  # DDP averages over ranks: × world gives the step's gradient
                step_loss += loss.detach()
            if state.step < head_warmup:  # a pure function of the step: resume stays exact
                for p in frozen_in_warmup:
                    p.grad = None
            torch.nn.utils.clip_grad_norm_(params.values(), t.clip_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        except torch.cuda.OutOfMemoryError:
            optimizer.zero_grad(set_to_none=True)
            del step
            torch.cuda.empty_cache()
            if not t.oom_batch_halving or state.micro == 1 or ranks.on:
                raise OutOfMemory(f"CUDA out of memory at step {state.step + 1} with micro-batch {state.micro}"
                                  + (" (DDP: no micro-batch halving)" if ranks.on else
                                     "" if t.oom_batch_halving else " (train.oomBatchHalving is off)")) from None
            state.micro //= 2
            log.warning("CUDA out of memory: micro-batch → %d, accumulation → %d", state.micro,
                        math.ceil(n_seqs / state.micro))
            continue
        state.step += 1
        state.position += n_seqs
        averages.update(state.step)
        state.tokens += step.tokens  # the whole step's, on every rank
        if step.injected is not None:
            state.dictionary.add(step.injected)
        interval.add(step_loss, step.tokens,
                     flops.per_step(step.tokens * body_passes, step.targets if mlm else step.tokens, cfg.data.seq_len),
                     step_nce)

        if state.step % t.log_every == 0 or state.step == t.max_steps:
            window = interval.close(ranks)
            if not math.isfinite(window.mean_loss):
                raise FloatingPointError(f"loss is {window.mean_loss} at step {state.step}")
            mfu = window.flops_per_sec / (peak * ranks.world) if peak else None
            events.progress(state.step, t.max_steps, window.mean_loss, lr, window.tokens_per_sec, mfu,
                            contrastiveLoss=window.mean_contrastive)
            state.loss_log.append([state.step, window.mean_loss])
            if window.mean_contrastive is not None:
                state.contrastive_log.append([state.step, window.mean_contrastive])
        if t.eval_every and state.step % t.eval_every == 0 and ranks.main:
            for name, batches in heldout.items():
                for key, value in evaluate_batches(model, objective, batches, device, autocast).items():
                    events.metric(f"eval.{name}.{key}", value, state.step)
        stopping = ranks.any(sigterm.requested)  # under DDP: all ranks stop at the same step
        if state.step % t.checkpoint_every == 0 or stopping:
            path = ckpt.save_checkpoint(
                cfg.checkpoint_dir, state.step, ranks=ranks, device=device, params=params,
                optimizer=optimizer.state_dict(), ema=averages.ema, swa=averages.swa, config=cfg.raw,
                state={"train_state": asdict(state), "swa_count": averages.swa_count, "step": state.step,
                       "position": state.position, "micro": state.micro, "schedule": t.schedule, "lr": lr})
            if ranks.main:
                events.checkpoint(state.step, path)
            if stopping:
                raise Terminated(path)

    ahead_pool.shutdown(wait=False, cancel_futures=True)
    if not ranks.main:  # rank 0 evaluates and writes the model
        return {}

    # ------------------------------------------------------------------------------------------------ finish
    which, weights = averages.final()
    if weights is not None:
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(weights[name])
    for name, batches in heldout.items():
        for key, value in evaluate_batches(model, objective, batches, device, autocast).items():
            metrics[f"eval.{name}.{key}"] = value
            events.metric(f"eval.{name}.{key}", value, state.step)
    final = peft_model.merge_and_unload() if peft_model is not None else model
    restore_config(final, cfg.model.path, cfg.model.config_overrides)
    os.makedirs(cfg.output_dir, exist_ok=True)
    # e.g. BERT's pooler, which an MLM model drops; read again only when the first load reported unused weights
    carried = unused_base_weights(cfg.model.path, final) if base_has_unused else {}
    if carried:
        log.info("carried from the base model unchanged: %s", ", ".join(sorted(carried)))
        metrics["model.baseWeightsCarried"] = float(len(carried))
    ngram_adapter.save_model(final, cfg.output_dir,
                             state_dict={**final.state_dict(), **carried} if carried else None)
    tokenizer.save_pretrained(cfg.output_dir)
    losses = [loss for _, loss in state.loss_log]
    if losses:
        metrics.update({"train.finalLoss": losses[-1], "train.firstLoss": losses[0], "train.minLoss": min(losses)})
    if state.contrastive_log:
        metrics.update({"train.firstContrastiveLoss": state.contrastive_log[0][1],
                        "train.finalContrastiveLoss": state.contrastive_log[-1][1]})
    metrics.update({"train.steps": state.step, "train.tokens": state.tokens})
    peak = _peak_rss_mb()
    if peak is not None:  # what a worker must provision, whatever the corpus size (issue #12: independent of it)
        metrics["process.peakRssMb"] = peak
    if definitions is not None:
        found = state.dictionary.metrics(len(definitions.entries))
        metrics.update(found)
        for k, v in found.items():
            events.metric(k, v)
        log.info("dictionary: %d definitions appended in %.1f%% of %d sequences (%d distinct terms)",
                 found["dictionary.definitionsAppended"], 100 * found["dictionary.sequenceShare"],
                 found["dictionary.sequences"], found["dictionary.termsUsed"])
    summary = {"metrics": metrics, "finalWeights": which, "lossCurve": state.loss_log,
               "microBatch": state.micro, "config": cfg.raw}
    with open(os.path.join(cfg.output_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    events.done(cfg.output_dir, metrics)
    return metrics


def _extend_vocab(cfg: PretrainConfig, tokenizer, ranks: Ranks):
    """The tokenizer extended with the lexicon's words (vocab.py) and the vocab.* metrics. Every rank extends it
    the same (deterministic) way; only rank 0 writes the shared checkpointDir/tokenizer."""
    sample = list(itertools.islice(read_texts(cfg.data.train, cfg.data.text_field), 2000))
    before = tokens_per_doc(tokenizer, sample)
    workdir = os.path.join(cfg.checkpoint_dir, "tokenizer")
    if not ranks.main:
        workdir = tempfile.mkdtemp(prefix=f"dapt-tokenizer-rank{ranks.rank}-")
    ext = extend_tokenizer(tokenizer, read_lexicon(cfg.vocab.lexicon), cfg.vocab.max_new_tokens,
                           cfg.vocab.min_subtokens, workdir)
    if not ranks.main:  # the extended tokenizer is in memory
        shutil.rmtree(workdir, ignore_errors=True)
    return ext, {"vocab.tokensAdded": len(ext.words), "vocab.inVocabulary": ext.in_vocab,
                 "vocab.addedTokens": ext.added_tokens, "vocab.tokensPerDocBefore": before,
                 "vocab.tokensPerDocAfter": tokens_per_doc(ext.tokenizer, sample)}


def _peak_rss_mb() -> float | None:
    """This process's peak resident set (VmHWM), in MiB. Not ru_maxrss: after a vfork + exec (how a worker starts
    the trainer) that also counts the parent's pages."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            kb = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), None)
    except OSError:  # not Linux
        return None
    return None if kb is None else round(kb / 1024, 1)


def _training_stream(cfg: PretrainConfig, tokenizer, segmenter, metrics: dict, events: Events) -> Stream:
    """The training corpus (and the replay corpus), tokenised in memory or read from token shards, as a Stream."""
    mlm = cfg.model.objective == "mlm"
    cache = ShardCache(cfg.data.token_cache.dir, cfg.data.token_cache.max_bytes) if cfg.data.token_cache else None
    encode = EncodeParams.of(cfg.data.packing, cfg.data.seq_len, cfg.model.objective, cfg.data.text_field, segmenter)

    def read_corpus(paths: list[str]):
        if cache is not None:  # token shards: tokenised once per shard and tokenizer, memory-mapped
            return shard_corpus(paths, tokenizer, cache, encode, segmenter)
        return tokenize_corpus(paths, tokenizer, cfg.data.seq_len, packing=cfg.data.packing,
                               text_field=cfg.data.text_field, segmenter=segmenter, append_eos=not mlm)

    # token shards of a tokenize stage: read as they are (checked against this tokenizer), never tokenised here
    corpus = stored_corpus(cfg.data.tokens, tokenizer, encode, cache=cache) if cfg.data.tokens else read_corpus(cfg.data.train)
    replay = None
    if cfg.data.replay is not None and cfg.data.replay.ratio > 0:
        replay = read_corpus(cfg.data.replay.paths)
    if cache is not None:
        for k, v in (("data.tokenShardsBuilt", cache.built), ("data.tokenShardsReused", cache.reused)):
            metrics[k] = float(v)
            events.metric(k, float(v))
    try:
        stream = Stream(corpus, cfg.train.seed, replay, cfg.data.replay.ratio if replay is not None else 0.0)
    except ValueError as e:
        raise ConfigError(f"data.train: {e}") from None
    log.info("data: %d training sequences of %d tokens%s", len(corpus), cfg.data.seq_len,
             f", {len(replay)} replay sequences" if replay is not None else "")
    return stream


def _resume(resume_dir: str, cfg: PretrainConfig, device: torch.device, ranks: Ranks, params: dict,
            optimizer: torch.optim.Optimizer, averages: Averages) -> TrainState:
    """Weights, optimizer, averages, RNG states and the loop's state from a checkpoint."""
    saved = ckpt.load(resume_dir, device)
    missing = set(params) - set(saved["params"])
    if missing:
        raise ConfigError(f"--resume: checkpoint {resume_dir} does not match the model (missing "
                          f"{sorted(missing)[:3]}...)")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(saved["params"][name])
    optimizer.load_state_dict(saved["optimizer"])
    changed = _changed_fields(saved["config"], cfg.raw)
    if changed:  # e.g. a longer maxSteps is legitimate; other changes break exactness
        log.warning("resuming with a config that differs from the checkpoint's at: %s", ", ".join(changed))
    s = saved["state"]
    averages.load(saved["ema"], saved["swa"], s["swa_count"])
    state = TrainState(**s["train_state"])
    ckpt.restore_rng_state(s["rng"], ranks, device, reseed=cfg.train.seed + 1_000_003 * ranks.rank + state.step)
    log.info("resumed from %s at step %d (data position %d)", resume_dir, state.step, state.position)
    return state


def _find_checkpoint(path: str) -> str:
    """--resume accepts a step-N directory or the checkpoint root (then its latest complete checkpoint)."""
    if os.path.isfile(os.path.join(path, "state.pt")):
        return path
    latest = ckpt.latest(path)
    if latest is None:
        raise ConfigError(f"--resume: no checkpoint found in {path}")
    return latest


def _changed_fields(old: dict, new: dict, prefix: str = "") -> list[str]:
    """JSON paths at which two configs differ (output locations ignored)."""
    out = []
    for key in sorted(set(old) | set(new)):
        path = f"{prefix}{key}"
        if path in ("outputDir", "checkpointDir"):
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _changed_fields(a, b, path + ".")
        elif a != b:
            out.append(path)
    return out
