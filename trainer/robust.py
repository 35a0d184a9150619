"""Robust fine-tuning objectives: adversarial training on the word embeddings (FGM, PGD) and R-Drop.

FGM (Miyato et al. 2017): after the clean backward pass, the word-embedding matrix moves by
r = ε · g / ‖g‖₂ (g: the gradient of the loss with respect to it, the norm over the whole matrix), the loss is
computed and back-propagated again at the moved embeddings (its gradients add to the clean ones), and the
embeddings move back. One extra forward and backward pass per step.

PGD (Madry et al. 2018, as used for BERT fine-tuning): K ascent steps of size α along g / ‖g‖₂, each projected
back onto the ε-ball around the clean embeddings; the gradients of the first K − 1 adversarial passes only steer
the attack (the clean gradients are restored after each), the last one's add to the clean ones. K extra passes.

R-Drop (Liang et al. 2021): two forward passes with independent dropout masks; the supervised loss is the mean of
the two passes' losses and α · the symmetric KL between their predictive distributions is added. One extra forward
(and backward) pass per step.

Contrastive (SimCSE, Gao et al. 2021, unsupervised form): the [CLS] states of two dropout passes over the batch are
positives of each other, the other rows in-batch negatives; InfoNCE = cross-entropy of cos(h_i, h'_j)/τ over j
with target i, added with a weight. One extra forward pass per step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .config import AdversarialSpec


def ascent(grad: torch.Tensor, size: float) -> torch.Tensor:
    """A step of L2 length `size` along `grad` (zero when the gradient is zero)."""
    norm = torch.linalg.vector_norm(grad)
    if not torch.isfinite(norm) or norm == 0:
        return torch.zeros_like(grad)
    return size * grad / norm


def project(delta: torch.Tensor, epsilon: float) -> torch.Tensor:
    """`delta` scaled back onto the L2 ball of radius ε when it left it."""
    norm = torch.linalg.vector_norm(delta)
    return delta if norm <= epsilon else delta * (epsilon / norm)


class EmbeddingAttack:
    """Adds the adversarial passes' gradients to the model's, after the clean backward pass (see module doc)."""

    def __init__(self, model, spec: AdversarialSpec):
        self.spec = spec
        self.weight: torch.nn.Parameter = model.get_input_embeddings().weight
        # PGD restores every parameter's clean gradient, not only the embeddings': the attack's own passes steer
        # the attack and must not leak into the update except through the last one
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.norms: list[float] = []  # ‖r‖ of the perturbation each step used (what the tests and stats read)

    def __call__(self, adversarial_loss: Callable[[], torch.Tensor]) -> float:
        """Runs the attack; returns the adversarial loss of the last pass. The embeddings end as they started."""
        w = self.weight
        if w.grad is None:
            return float("nan")
        clean = w.data.clone()
        try:
            if self.spec.method == "fgm":
                delta = ascent(w.grad, self.spec.epsilon)
                w.data.add_(delta)
                loss = adversarial_loss()
                loss.backward()
            else:
                params = [p for p in self.params if p.grad is not None]
                clean_grads = {p: p.grad.clone() for p in params}
                delta = torch.zeros_like(w.data)
                for k in range(self.spec.steps):
                    delta = project(delta + ascent(w.grad, self.spec.alpha), self.spec.epsilon)
                    w.data.copy_(clean + delta)
                    last = k == self.spec.steps - 1
                    if last:
                        for p, g in clean_grads.items():
                            p.grad.copy_(g)
                    else:
                        for p in params:
                            p.grad.zero_()
                    loss = adversarial_loss()
                    loss.backward()
            self.norms.append(float(torch.linalg.vector_norm(delta)))
            return float(loss.detach())
        finally:
            w.data.copy_(clean)


def symmetric_kl(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """½ (KL(p_a ‖ p_b) + KL(p_b ‖ p_a)) per row, rows of [N, K] logits, averaged over the rows."""
    la, lb = logits_a.float().log_softmax(-1), logits_b.float().log_softmax(-1)
    kl_ab = (la.exp() * (la - lb)).sum(-1)
    kl_ba = (lb.exp() * (lb - la)).sum(-1)
    return (0.5 * (kl_ab + kl_ba)).mean() if len(la) else la.sum() * 0


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE of [N, D] views: row i of `a` against every row of `b`, its positive being row i."""
    a, b = F.normalize(a.float(), dim=-1), F.normalize(b.float(), dim=-1)
    logits = a @ b.T / temperature
    return F.cross_entropy(logits, torch.arange(len(a), device=a.device))
