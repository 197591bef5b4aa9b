"""train_dpo on a tiny random Llama: the loss falls, LoRA is merged into a plain saved model, the
reference model is the starting model unless one is given."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from selftaught.core.config import TrainConfig
from selftaught.train import train_dpo

PAIRS = [{"prompt": [{"role": "user", "content": f"q{i}"}], "chosen": [{"role": "assistant", "content": "ab"}],
          "rejected": [{"role": "assistant", "content": "abc"}], "problem_id": f"p{i}"} for i in range(8)]


def cfg(**kw):
    return TrainConfig(epochs=2, batch_size=4, learning_rate=1e-3, **kw)


def test_dpo_learns_the_preference_and_saves(tiny_model_and_tokenizer, tmp_path):
    model, tok = tiny_model_and_tokenizer
    trained, result = train_dpo(model, tok, PAIRS, cfg(), "cpu", 0, save_dir=tmp_path / "ckpt")
    m = result.metrics()
    assert m["train/steps"] == 4 and m["train/pairs"] == 8
    assert m["train/loss_first"] == pytest.approx(0.6931, abs=1e-3)  # log 2: policy == reference at the start
    assert m["train/loss"] < m["train/loss_first"] and m["train/reward_margin"] > 0
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt")
    assert torch.equal(reloaded.lm_head.weight, trained.lm_head.weight)


def test_lora_is_merged_into_a_plain_checkpoint(tiny_model_and_tokenizer, tmp_path):
    model, tok = tiny_model_and_tokenizer
    before = model.model.layers[0].self_attn.q_proj.weight.detach().clone()
    trained, _ = train_dpo(model, tok, PAIRS, cfg(lora={"enabled": True, "r": 4, "alpha": 8}), "cpu", 0,
                           save_dir=tmp_path / "ckpt")
    assert not any("lora" in n for n, _ in trained.named_parameters())
    files = {p.name for p in (tmp_path / "ckpt").iterdir()}
    assert "config.json" in files and "adapter_config.json" not in files
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt")
    assert not torch.equal(reloaded.model.layers[0].self_attn.q_proj.weight, before)


def test_reference_defaults_to_a_frozen_copy_of_the_start(tiny_model_and_tokenizer, monkeypatch):
    import trl

    seen = {}
    real_init = trl.DPOTrainer.__init__

    def spy(self, model, ref_model=None, **kw):
        seen["ref"], seen["start"] = ref_model, {k: v.clone() for k, v in model.state_dict().items()}
        real_init(self, model, ref_model=ref_model, **kw)

    monkeypatch.setattr(trl.DPOTrainer, "__init__", spy)
    model, tok = tiny_model_and_tokenizer
    train_dpo(model, tok, PAIRS, cfg(), "cpu", 0)
    ref = seen["ref"]
    assert ref is not None and ref is not model
    assert all(torch.equal(ref.state_dict()[k], v) for k, v in seen["start"].items())  # untouched by training


def test_pairs_need_the_three_fields(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    with pytest.raises(ValueError, match="rejected"):
        train_dpo(model, tok, [{"prompt": "q", "chosen": "a"}], cfg(), "cpu", 0)


def test_prompts_that_fill_max_length_are_a_config_error_before_training(tiny_model_and_tokenizer):
    """A judge prompt longer than train.max_length leaves TRL nothing to train on: say so, naming the key."""
    from selftaught.core.errors import ConfigError

    model, tok = tiny_model_and_tokenizer
    long = [dict(p, prompt=[{"role": "user", "content": "x" * 80}]) for p in PAIRS]
    with pytest.raises(ConfigError, match="train.max_length is 48 tokens.*at least \\d+ tokens"):
        train_dpo(model, tok, long, cfg(max_length=48), "cpu", 0)
    with pytest.raises(ConfigError, match="train.max_length"):  # text prompts (plain format) too
        train_dpo(model, tok, [dict(p, prompt="y" * 60) for p in PAIRS], cfg(max_length=32), "cpu", 0)


def test_cpu_scores_completion_positions_only_with_the_same_losses(monkeypatch):
    """On a CPU the fused LM head sees only the labelled (completion) rows, as TRL does on a GPU; same losses."""
    from contextlib import nullcontext
    from types import SimpleNamespace

    import trl.trainer.utils as trl_utils

    import selftaught.train.dpo as dpo
    from conftest import tiny_model_and_tokenizer_pair

    rows = []
    real = trl_utils._ChunkedLogProbFunction
    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", SimpleNamespace(
        apply=lambda hidden, *a: rows.append(hidden.shape[0]) or real.apply(hidden, *a)))

    def run():
        model, tok = tiny_model_and_tokenizer_pair(0)
        rows.clear()
        _, result = train_dpo(model, tok, PAIRS, cfg(), "cpu", 0)
        return result.losses, list(rows), {k: v.detach().clone() for k, v in model.state_dict().items()}

    compact, scored_compact, w_compact = run()
    monkeypatch.setattr(dpo, "labelled_positions_only", nullcontext)  # TRL's own CPU path
    full, scored_full, w_full = run()
    assert len(scored_compact) == len(scored_full) > 0
    assert all(c < f for c, f in zip(scored_compact, scored_full))
    assert compact == pytest.approx(full, rel=1e-5, abs=1e-6)
    assert max((w_compact[k] - w_full[k]).abs().max().item() for k in w_full) < 1e-5
