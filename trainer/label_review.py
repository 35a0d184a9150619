"""Label review by clusters: rows whose label disagrees with their neighbourhood, listed for a person to check.

Confident learning (noise.py) needs fold models and acts on its verdict; this needs no training and only lists.
The train texts are embedded by an encoder (mean of the last hidden states over the tokens, L2-normalised) and
grouped by k-means (k-means++ seeding, fixed seed). In a cluster whose majority label holds at least `purity` of
its rows, the rows labeled otherwise are suspects (purest clusters first: there the odd one out is most
suspicious). A cluster without such a majority is listed as mixed: the classes overlap there, or a labeling
guideline is unclear.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import rng_for
from .ngram_adapter import attach_saved


@torch.no_grad()
def embed(path: str, tokenizer, texts: list[str], max_length: int, batch_size: int, device) -> np.ndarray:
    """[N, D] L2-normalised mean-pooled last hidden states of the encoder at `path`."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    attach_saved(model, path)
    model = model.to(device).eval()
    out = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start: start + batch_size], truncation=True, max_length=max_length, padding=True,
                        return_tensors="pt").to(device)
        hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        out.append(torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp_min(1), dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 1), dtype=np.float32)


def sq_distances(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """[N, k] squared distances as ‖x‖² − 2x·c + ‖c‖² (never an [N, k, D] array: 10k rows × 70 centres × 384 dims
    would be 2 GB)."""
    return np.maximum((x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None], 0.0)


def kmeans(x: np.ndarray, k: int, seed: int, iters: int = 100) -> np.ndarray:
    """Cluster index of every row (Lloyd's algorithm from a k-means++ seeding); deterministic for a seed."""
    n = len(x)
    k = max(1, min(k, n))
    x = np.asarray(x, dtype=np.float64)
    rng = rng_for(seed, 0xC1A5)
    centers = [x[rng.integers(n)]]
    nearest = sq_distances(x, np.asarray(centers))[:, 0]
    for _ in range(1, k):
        centers.append(x[rng.choice(n, p=nearest / nearest.sum())] if nearest.sum() > 0 else x[rng.integers(n)])
        nearest = np.minimum(nearest, sq_distances(x, centers[-1][None])[:, 0])
    c = np.asarray(centers)
    assign = np.full(n, -1)
    for _ in range(iters):
        new = sq_distances(x, c).argmin(1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            if (assign == j).any():
                c[j] = x[assign == j].mean(0)
    return assign


def review(clusters: np.ndarray, labels: np.ndarray, label_names: list[str], texts: list[str],
           purity: float) -> dict:
    """Per cluster its majority label and share; the rows labeled otherwise in clusters whose majority holds at
    least `purity` (odd ones out, purest clusters first), and the clusters below it (mixed)."""
    suspects, mixed = [], []
    for j in np.unique(clusters):
        rows = np.flatnonzero(clusters == j)
        counts = np.bincount(labels[rows], minlength=len(label_names))
        major = int(counts.argmax())
        share = float(counts[major] / len(rows))
        entry = {"cluster": int(j), "size": int(len(rows)), "majority": label_names[major], "share": round(share, 4)}
        if share < purity:
            mixed.append({**entry, "labels": {label_names[c]: int(n) for c, n in enumerate(counts) if n}})
            continue
        for r in rows[labels[rows] != major]:
            suspects.append({**entry, "row": int(r), "label": label_names[labels[r]], "text": texts[r][:300]})
    suspects.sort(key=lambda s: (-s["share"], -s["size"], s["row"]))
    mixed.sort(key=lambda m: (m["share"], -m["size"]))
    return {"clusters": int(len(np.unique(clusters))), "purity": purity, "flagged": len(suspects),
            "suspects": suspects, "mixed": mixed}
