"""dapt trainer: continual (domain-adaptive) pretraining of Hugging Face models, driven by a JSON config.

Run with the repository root on PYTHONPATH:
    python -m trainer pretrain --config cfg.json [--resume CHECKPOINT_DIR]
    python -m trainer evaluate --config cfg.json
    python -m trainer tiny-model --arch bert --corpus docs.jsonl --out DIR

The contract with the TypeScript stages (config schema, stdout events, exit codes) is in schemas/trainer.ts.
"""

__version__ = "0.1.0"
