"""Command line: `python -m trainer <pretrain|evaluate|finetune|pseudolabel|translate|longtail|tokenize|tiny-model> ...` (see trainer/__init__.py).

Exit codes (schemas/trainer.ts TRAINER_EXIT): 0 done, 2 bad config, 3 CUDA out of memory, 143 terminated after a
checkpoint; anything else is a crash the activity may retry.
"""

from __future__ import annotations

import os

# No network at run time: models and tokenizers load from local directories only. Set before transformers loads.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

import argparse  # noqa: E402
import sys  # noqa: E402

from .errors import EXIT_BAD_CONFIG, EXIT_OOM, ConfigError, TrainerError  # noqa: E402
from .events import Events, log, setup_logging  # noqa: E402


def _quiet_transformers() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _die_with_torchrun() -> None:
    """A torchrun worker runs in its own session: it must not outlive the launcher (PR_SET_PDEATHSIG)."""
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 and "TORCHELASTIC_RUN_ID" in os.environ:
        try:
            import ctypes
            import signal

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
        except Exception:  # not Linux: nothing to arm
            pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _die_with_torchrun()
    setup_logging(os.environ.get("DAPT_LOG_LEVEL", "INFO"))
    if argv and argv[0] == "tiny-model":
        _quiet_transformers()
        from .tiny import main as tiny_main

        try:
            return tiny_main(argv[1:])
        except ConfigError as e:
            log.error("%s", e)
            return EXIT_BAD_CONFIG

    parser = argparse.ArgumentParser(prog="python -m trainer")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pretrain", help="continual pretraining (MLM or CLM)")
    p.add_argument("--config", required=True)
    p.add_argument("--resume", help="a step-N checkpoint directory, or the checkpoint root (latest)")
    e = sub.add_parser("evaluate", help="held-out loss / perplexity / accuracy of one or more models")
    e.add_argument("--config", required=True)
    f = sub.add_parser("finetune", help="fine-tune named models on a labeled task over several seeds (task metrics)")
    f.add_argument("--config", required=True)
    pl = sub.add_parser("pseudolabel", help="label unlabeled documents with a teacher (noisy-student rounds)")
    pl.add_argument("--config", required=True)
    t = sub.add_parser("translate", help="translate JSONL texts through seq2seq models in turn (back-translation)")
    t.add_argument("--config", required=True)
    lt = sub.add_parser("longtail", help="how the base tokenizer fragments each term of a lexicon (long-tail analysis)")
    lt.add_argument("--config", required=True)
    tk = sub.add_parser("tokenize", help="one document shard into a token shard (the tokenize stage's task)")
    tk.add_argument("--config", required=True)
    sub.add_parser("tiny-model", help="build a tiny model + tokenizer (see --help of the command)")
    args = parser.parse_args(argv)

    try:
        if args.command == "translate":  # its own typed config (trainer/translate.py), same schema file
            from .translate import load as load_translate, run as translate

            _quiet_transformers()
            translate(load_translate(args.config), events=Events())
            return 0
        if args.command == "longtail":  # a tokenizer only: its own typed config (trainer/longtail.py)
            from .longtail import load as load_longtail, run as longtail

            _quiet_transformers()
            longtail(load_longtail(args.config), events=Events())
            return 0
        if args.command == "tokenize":  # a tokenizer only: its own typed config (trainer/tokenize.py)
            from .tokenize import load as load_tokenize, run as tokenize

            _quiet_transformers()
            tokenize(load_tokenize(args.config), events=Events())
            return 0
        from . import config

        cfg = config.load(args.config, expect=args.command)
        _quiet_transformers()
        if args.command == "pretrain":
            from .train import pretrain

            pretrain(cfg, resume=args.resume, events=Events())
        elif args.command == "finetune":
            from .finetune import run as finetune

            finetune(cfg, events=Events())
        elif args.command == "pseudolabel":
            from .pseudolabel import run as pseudolabel

            pseudolabel(cfg, events=Events())
        else:
            from .evaluate import run

            run(cfg, events=Events())
        return 0
    except TrainerError as err:
        log.error("%s", err)
        return err.exit_code
    except _oom_type() as err:  # an OOM outside the training step (model load, evaluation)
        log.error("CUDA out of memory: %s", err)
        return EXIT_OOM


def _oom_type():
    import torch

    return torch.cuda.OutOfMemoryError


if __name__ == "__main__":
    sys.exit(main())
