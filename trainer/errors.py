"""The trainer's error vocabulary: each error maps to one exit code of the contract (schemas/trainer.ts)."""

EXIT_OK = 0
EXIT_BAD_CONFIG = 2  # non-retryable
EXIT_OOM = 3  # non-retryable unless train.oomBatchHalving
EXIT_TERMINATED = 143  # SIGTERM: a checkpoint was written (when there was a step to save), then exit


class TrainerError(Exception):
    """Base class: an expected failure with a known exit code."""

    exit_code = 1


class ConfigError(TrainerError):
    """Invalid config: schema violation, unknown field, or a missing file/directory. Names the field or path."""

    exit_code = EXIT_BAD_CONFIG


class OutOfMemory(TrainerError):
    """CUDA ran out of memory and batch halving was off (or the micro-batch is already 1)."""

    exit_code = EXIT_OOM


class Terminated(TrainerError):
    """SIGTERM received; the state was checkpointed (see `checkpoint`) before raising."""

    exit_code = EXIT_TERMINATED

    def __init__(self, checkpoint: str | None):
        super().__init__(f"terminated; checkpoint: {checkpoint or 'none (no step finished)'}")
        self.checkpoint = checkpoint
