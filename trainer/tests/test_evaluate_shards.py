"""evaluate per shard: counts of the first maxSequences sequences per file, then per-shard sums that add up to the
numbers of the whole set (masks seeded per document, sequences never spanning documents)."""

import json

import pytest

from trainer import config
from trainer.evaluate import run as evaluate
from trainer.events import Collect


def _split(src: str, dest, parts: int) -> list[str]:
    lines = [line for line in open(src) if line.strip()]
    size = -(-len(lines) // parts)
    out = []
    for i in range(parts):
        path = dest / f"eval-{i}.jsonl"
        path.write_text("".join(lines[i * size:(i + 1) * size]))
        out.append(str(path))
    return out


def _cfg(tmp_path, models, data, **over) -> dict:
    raw = {"command": "evaluate", "models": models, "data": {"seqLen": 32, **data},
           "masking": {"strategy": "whole-word", "rate": 0.15, "language": "en"}, "seed": 5, "batchSize": 8,
           "outputDir": str(tmp_path), "device": "cpu"}
    raw.update(over)
    return raw


@pytest.mark.parametrize("max_sequences", [10_000, 40])
def test_evaluate_shard_sums_add_up_to_the_whole_set(tmp_path, tiny_bert, tiny_gpt2, corpus, max_sequences):
    models = {"bert": {"path": tiny_bert, "objective": "mlm"}, "gpt": {"path": tiny_gpt2, "objective": "clm"}}
    whole = evaluate(config.parse(_cfg(tmp_path / "whole", models, {"domain": [corpus["domain_eval"]],
                                                                     "maxSequences": max_sequences})), Collect())
    sums = json.loads((tmp_path / "whole" / "sums.json").read_text())
    shards = _split(corpus["domain_eval"], tmp_path, 4)
    counts = Collect()
    evaluate(config.parse(_cfg(tmp_path / "count", models, {"domain": shards, "maxSequences": max_sequences},
                               phase="count")), counts)
    per_file = json.loads((tmp_path / "count" / "counts.json").read_text())["domain"]
    assert counts.items[-1]["event"] == "done"
    for m in models:
        assert sum(per_file[m]) == sums[m]["domain"]["sequences"]
        if max_sequences == 40:
            assert sums[m]["domain"]["sequences"] == 40 and per_file[m][-1] == 0, per_file
    total = {m: {"lossSum": 0.0, "correct": 0, "targets": 0, "sequences": 0} for m in models}
    for i, shard in enumerate(shards):
        limits = {m: {"domain": per_file[m][i]} for m in models}
        evaluate(config.parse(_cfg(tmp_path / f"s{i}", models, {"domain": [shard], "maxSequences": max_sequences},
                                   limits=limits)), Collect())
        part = json.loads((tmp_path / f"s{i}" / "sums.json").read_text())
        for m in models:
            for k in total[m]:
                total[m][k] += part[m]["domain"][k]
    for m in models:
        ref = sums[m]["domain"]
        assert (total[m]["targets"], total[m]["correct"], total[m]["sequences"]) == \
            (ref["targets"], ref["correct"], ref["sequences"]), (m, total[m], ref)
        assert total[m]["lossSum"] == pytest.approx(ref["lossSum"], rel=1e-5)
        assert whole[f"{m}.domain.loss"] == pytest.approx(ref["lossSum"] / ref["targets"])


def test_evaluate_config_needs_a_set_and_known_limits(tmp_path, tiny_bert):
    models = {"bert": {"path": tiny_bert, "objective": "mlm"}}
    with pytest.raises(config.ConfigError, match="data.domain"):
        config.parse(_cfg(tmp_path, models, {}))
    with pytest.raises(config.ConfigError, match="limits.other"):
        config.parse(_cfg(tmp_path, models, {"domain": [__file__]}, limits={"other": {"domain": 1}}))
