"""train_grpo on a tiny random Llama: zero-variance groups are counted, dropped from the loss (their
completion_mask zeroed, TRL's own mechanism), and the counts agree with TRL's frac_reward_zero_std."""

import pytest
import torch

from loop_task import EvenLengthTask
from selftaught.core.config import load_config
from selftaught.core.records import Score
from selftaught.train import train_grpo


class SameRewardTask(EvenLengthTask):
    def score(self, problem, completion, sample_id=None):
        return Score(sample_id or problem.id, "x", "correct", 1.0)


def config(*extra):
    return load_config(None, ["task.callable=loop_task:make_task", "sampling.n=2", "sampling.max_new_tokens=5",
                              "sampling.temperature=1.0", "train.epochs=1", "train.batch_size=4",
                              "train.learning_rate=1e-3", *extra])


@pytest.fixture
def loss_inputs(monkeypatch):
    """What each loss computation saw: (advantages, completion tokens counted per row)."""
    import trl

    seen = []
    real = trl.GRPOTrainer._compute_loss

    def spy(self, model, inputs):
        seen.append((inputs["advantages"].detach().clone(), inputs["completion_mask"].sum(dim=1).clone()))
        return real(self, model, inputs)

    monkeypatch.setattr(trl.GRPOTrainer, "_compute_loss", spy)
    return seen


def test_all_flat_groups_are_dropped_and_the_model_is_unchanged(tiny_model_and_tokenizer, loss_inputs):
    model, tok = tiny_model_and_tokenizer
    task = SameRewardTask()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _, result = train_grpo(model, tok, task.problems("train", 6, 0), task, config(), "cpu", 0)
    m = result.metrics()
    assert m["train/groups"] == 6 and m["train/zero_variance_groups"] == 6
    assert m["train/frac_reward_zero_std"] == 1.0  # TRL's own count agrees
    assert all(int(n) == 0 for _, counts in loss_inputs for n in counts)  # every row masked out of the loss
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("filtering", [True, False])
def test_mixed_groups_counted_like_trl_and_masked_only_when_filtering(tiny_model_and_tokenizer, loss_inputs,
                                                                      filtering):
    model, tok = tiny_model_and_tokenizer
    task = EvenLengthTask()
    _, result = train_grpo(model, tok, task.problems("train", 8, 0), task,
                           config(f"train.grpo.zero_variance_filter={filtering}"), "cpu", 0)
    m = result.metrics()
    assert m["train/groups"] == 8 and 0 < m["train/zero_variance_groups"] < 8
    assert m["train/zero_variance_groups"] / m["train/groups"] == pytest.approx(m["train/frac_reward_zero_std"])
    advantages = torch.cat([a for a, _ in loss_inputs])
    counted = torch.cat([c for _, c in loss_inputs])
    flat_rows = int((advantages.abs() < 1e-6).sum())
    assert flat_rows == 2 * m["train/zero_variance_groups"]  # a flat group's two rows have advantage 0
    masked = int((counted == 0).sum())
    assert masked == (flat_rows if filtering else 0)
    if filtering:
        assert all(float(a) == 0.0 for a, c in zip(advantages, counted) if c == 0)


def test_group_size_must_divide_the_batch(tiny_model_and_tokenizer):
    from selftaught.core.errors import ConfigError

    model, tok = tiny_model_and_tokenizer
    task = EvenLengthTask()
    with pytest.raises(ConfigError, match="multiple of sampling.n"):
        train_grpo(model, tok, task.problems("train", 2, 0), task, config("sampling.n=3"), "cpu", 0)


def test_lora_grpo_saves_a_merged_model(tiny_model_and_tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    model, tok = tiny_model_and_tokenizer
    task = EvenLengthTask()
    trained, result = train_grpo(model, tok, task.problems("train", 4, 0), task,
                                 config("train.lora.enabled=true", "train.lora.r=4", "train.grpo.format_reward=0.5"),
                                 "cpu", 0, save_dir=tmp_path / "ckpt")
    assert not (tmp_path / "ckpt" / "adapter_config.json").exists()
    assert not any("lora" in n for n, _ in trained.named_parameters())
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt").config.vocab_size == trained.config.vocab_size
    assert result.metrics()["train/steps"] > 0
