"""Weights of the base checkpoint that the training model has no place for, carried into the saved model unchanged.

A masked-LM model is built without BERT's pooler (`BertForMaskedLM` uses `BertModel(add_pooling_layer=False)`), so
saving it drops the base's pooler — trained by BERT's next-sentence task, or by a sentence-embedding objective.
Sequence classifiers read the [CLS] state through that pooler: fine-tuning the adapted model would start it at
random while the base model keeps its trained one, a handicap the comparison should not carry (measured on the
biomed-en example, all-MiniLM-L6-v2, 40 steps, 3 fine-tuning seeds: macro-F1 0.45 with the pooler lost, 0.65
with it carried; the base had 0.65). `run_mlm.py` loses it the same way. Here every body tensor of the base (as
`AutoModel` loads it) that the trained body lacks, and that the checkpoint really held, is written into the output
beside the trained weights (`save_pretrained(state_dict=...)`: one file or sharded, as transformers chooses).
"""

from __future__ import annotations

import torch

from .events import log


def unused_base_weights(path: str, model) -> dict[str, torch.Tensor]:
    """Body tensors of the checkpoint at `path` that `model`'s body has no parameter or buffer for, named as in
    `model`'s own state dict (`<base_model_prefix>.<name>`). Empty when there are none or the base cannot be
    loaded as a bare body."""
    from transformers import AutoModel

    try:
        body, info = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32,
                                               output_loading_info=True)
    except (ValueError, OSError, KeyError) as e:  # an architecture without a bare AutoModel: nothing to carry
        log.warning("base weights not checked for unused tensors (%s): %s", path, e)
        return {}
    prefix = model.base_model_prefix
    have = set(getattr(model, prefix).state_dict())
    initialised = set(info.get("missing_keys") or ())  # not in the checkpoint: random, nothing worth carrying
    return {f"{prefix}.{name}": t.detach().to("cpu").contiguous().clone()
            for name, t in body.state_dict().items() if name not in have and name not in initialised}
