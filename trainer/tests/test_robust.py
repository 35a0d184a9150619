"""Adversarial training (FGM, PGD) and R-Drop: the perturbation's size, the embeddings restored, the KL's value,
and both options through `finetune` with their summaries."""

import math

import pytest
import torch

from trainer import config
from trainer.config import AdversarialSpec
from trainer.events import Collect
from trainer.finetune import run
from trainer.robust import EmbeddingAttack, info_nce, project, symmetric_kl
from trainer.task_train import load_task_model
from trainer.taskdata import encode_texts

from .test_finetune import finetune_config


def _model_and_loss(task_bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(task_bert)
    model = load_task_model(task_bert, "classification", ["a", "b", "c", "d"], seed=1)
    model.train()
    enc = encode_texts(tok, ["alpha beta gamma", "delta epsilon", "zeta eta theta iota"], 16)
    ids = torch.from_numpy(enc.ids)
    mask = (ids != tok.pad_token_id).long()
    labels = torch.tensor([0, 1, 2])

    def loss():
        torch.manual_seed(0)  # the same dropout masks on every pass: the differences come from the embeddings
        return torch.nn.functional.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, labels)

    return model, loss


def _grads(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("method", ["fgm", "pgd"])
def test_the_perturbation_has_length_epsilon_and_the_embeddings_come_back(task_bert, method):
    model, loss = _model_and_loss(task_bert)
    emb = model.get_input_embeddings().weight
    before = emb.detach().clone()
    loss().backward()
    clean = _grads(model)
    eps = 0.5
    attack = EmbeddingAttack(model, AdversarialSpec(method=method, epsilon=eps, steps=3, alpha=0.3))
    adv_loss = attack(loss)
    # FGM: exactly ε; PGD: 3 steps of 0.3 > ε, so the projection holds it on the ε-sphere
    assert attack.norms[-1] == pytest.approx(eps, rel=1e-5)
    assert torch.equal(emb.detach(), before), "the clean embeddings are restored bit for bit"
    assert math.isfinite(adv_loss) and adv_loss > 0
    after = _grads(model)
    # the adversarial pass's gradients were added to the clean ones (not replacing them, not dropped)
    assert any(not torch.allclose(after[n], clean[n]) for n in clean)
    if method == "fgm":
        # FGM's update is the clean gradient plus the gradient at the embeddings moved by ε·g/‖g‖
        g = clean[next(n for n in clean if "word_embeddings" in n)]
        model.zero_grad()
        with torch.no_grad():
            emb.add_(eps * g / torch.linalg.vector_norm(g))
        loss().backward()
        adv_only = _grads(model)
        with torch.no_grad():
            emb.copy_(before)
        for n in clean:
            assert torch.allclose(after[n], clean[n] + adv_only[n], atol=1e-6), n


def test_the_ascent_is_along_the_gradient_and_the_projection_clips():
    g = torch.tensor([3.0, 4.0])
    from trainer.robust import ascent

    assert torch.allclose(ascent(g, 1.0), torch.tensor([0.6, 0.8]))
    assert torch.equal(ascent(torch.zeros(2), 1.0), torch.zeros(2))
    assert torch.allclose(project(torch.tensor([3.0, 4.0]), 1.0), torch.tensor([0.6, 0.8]))
    assert torch.equal(project(torch.tensor([0.3, 0.4]), 1.0), torch.tensor([0.3, 0.4]))


def test_symmetric_kl_is_zero_for_equal_views_and_known_otherwise():
    a = torch.log(torch.tensor([[0.5, 0.5]]))
    b = torch.log(torch.tensor([[0.9, 0.1]]))
    assert symmetric_kl(a, a).item() == pytest.approx(0.0, abs=1e-7)
    kl_ab = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    kl_ba = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert symmetric_kl(a, b).item() == pytest.approx(0.5 * (kl_ab + kl_ba), rel=1e-5)
    assert symmetric_kl(a, b).item() == pytest.approx(symmetric_kl(b, a).item(), rel=1e-6)


def test_info_nce_of_identical_views_is_the_expected_value():
    # N orthogonal unit rows as both views: the positive's logit is 1/τ, every negative's 0, so each row's loss is
    # -log(e^(1/τ) / (e^(1/τ) + N - 1)) = log(1 + (N - 1) e^(-1/τ))
    n, tau = 4, 0.5
    x = torch.eye(n) * 3.0  # the norm does not matter: cosine similarity
    assert info_nce(x, x, tau).item() == pytest.approx(math.log(1 + (n - 1) * math.exp(-1 / tau)), rel=1e-6)
    # views that point elsewhere than their partner cost more than matched ones
    assert info_nce(x, x.roll(1, 0), tau).item() > info_nce(x, x, tau).item()


def test_finetune_with_adversarial_training_and_rdrop_reports_what_they_did(tmp_path, task_bert, task_data):
    base = finetune_config(tmp_path / "plain", {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"],
                           maxSteps=6)
    events = Collect()
    plain = run(config.parse(base), events)
    plain_losses = [e["loss"] for e in events.of("progress")]
    for option, value, key in (("adversarial", {"method": "fgm", "epsilon": 0.25}, "perturbationNorm"),
                               ("adversarial", {"method": "pgd", "epsilon": 0.25, "steps": 2, "alpha": 0.2},
                                "perturbationNorm"),
                               ("rdrop", {"alpha": 1.0}, "rdropKl"),
                               ("contrastive", {"weight": 0.5, "temperature": 0.1}, "contrastiveLoss")):
        raw = finetune_config(tmp_path / f"{option}-{value.get('method', '')}", {"base": task_bert},
                              task_data["cls4_train"], task_data["cls4_test"], maxSteps=6, **{option: value})
        events = Collect()
        m = run(config.parse(raw), events)
        summary = m[option]
        assert {k: summary[k] for k in value} == value
        got = summary["models"]["base"][key]
        if option == "adversarial":
            assert got == pytest.approx(0.25, rel=1e-4), summary  # every step's perturbation on the ε-sphere
            assert summary["models"]["base"]["adversarialLoss"] > 0
        else:
            assert got > 0, summary  # dropout makes the two passes disagree (R-Drop); InfoNCE is positive
        # the option changed training: other weights than without it from the second step on (same seeds,
        # batches); the first step's clean loss is the same (R-Drop's is its own: two passes and their KL)
        losses = [e["loss"] for e in events.of("progress")]
        assert losses[1:] != plain_losses[1:], option
        if option == "adversarial":
            assert losses[0] == pytest.approx(plain_losses[0], rel=1e-6)
    assert "adversarial" not in plain and "rdrop" not in plain


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c.update(adversarial={"method": "freelb"}), "adversarial.method:"),
    (lambda c: c.update(adversarial={"epsilon": 0}), "adversarial.epsilon:"),
    (lambda c: c.update(rdrop={"alpha": -1}), "rdrop.alpha:"),
    (lambda c: c.update(contrastive={"temperature": 0}), "contrastive.temperature:"),
    (lambda c: c.update(contrastive={}, prompt={"template": "{text} [MASK]", "verbalizer": {"a": "b", "c": "d"}}),
     "contrastive: not with prompt"),
])
def test_bad_robust_options_name_the_field(tmp_path, task_bert, task_data, mutate, expected):
    raw = finetune_config(tmp_path, {"base": task_bert}, task_data["cls4_train"], task_data["cls4_test"])
    mutate(raw)
    with pytest.raises(config.ConfigError) as e:
        config.parse(raw)
    assert expected in str(e.value)
