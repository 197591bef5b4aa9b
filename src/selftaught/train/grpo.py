"""GRPO with verifiable (or label-free) rewards, through TRL's GRPOTrainer.

One call is one round: `epochs` passes over the round's training problems. GRPO samples its own
groups of `num_generations` completions per problem with the policy as it trains, scores them with
the reward functions of `rewards.py`, and pushes up the completions that beat their group's mean.

Zero-variance filtering: a group whose completions all get the same reward has zero advantage, so
it teaches nothing, yet under TRL's default `dapo` loss its tokens still count in the normaliser
(diluting the other groups' gradient) and in the KL term. TRL 1.16 has no option to drop such
groups: it only logs `frac_reward_zero_std`. `FilteringGRPOTrainer` drops them from the loss by
zeroing their `completion_mask`, the mechanism TRL itself uses for `mask_truncated_completions`,
and counts them (groups are not refilled, unlike DAPO's dynamic sampling: minimal, and the batch
shapes TRL splits into steps stay intact).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from ..core.config import Config
from ..core.errors import ConfigError
from ..core.records import Problem, from_dict
from ..select.records import prompt_messages
from ..tasks.formats import format_prompt, resolve_prompt_format
from ..tasks.verdicts import resolve_max_new_tokens
from .common import (common_args, finish, labelled_positions_only, lora_config, quiet_trainer, result_of, tracker_dir,
                     train_with_progress)
from .rewards import build_rewards
from .round import TRAINERS, Trainer

# Logged by GRPOTrainer -> averaged over the round's steps into these metric names.
GRPO_KEYS = {"reward": "train/reward", "reward_std": "train/reward_std",
             "frac_reward_zero_std": "train/frac_reward_zero_std",
             "completions/mean_length": "train/completion_length", "completions/clipped_ratio": "train/clipped_ratio",
             "entropy": "train/entropy", "kl": "train/kl", "label_accuracy": "train/label_accuracy"}


def _trainer_class():
    from trl import GRPOTrainer

    class FilteringGRPOTrainer(GRPOTrainer):
        """GRPOTrainer that drops zero-variance groups from the loss and counts them (module docstring)."""

        def __init__(self, *args: Any, zero_variance_filter: bool = True, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.zero_variance_filter = zero_variance_filter
            self.groups_seen = self.groups_dropped = 0
            self._last_rewards: torch.Tensor | None = None

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            self._last_rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            return self._last_rewards  # gathered over processes: [global rows, reward functions]

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            if not self.model.training or self._last_rewards is None:
                return out
            weights = self.reward_weights.to(self._last_rewards.device)
            rewards = (self._last_rewards * weights).nansum(dim=1).view(-1, self.num_generations)
            flat = (rewards.max(dim=1).values - rewards.min(dim=1).values).abs() < 1e-6  # one flag per group
            self.groups_seen += int(flat.numel())
            self.groups_dropped += int(flat.sum())
            if self.zero_variance_filter and bool(flat.any()):
                mask, local = out["completion_mask"], out["completion_ids"].size(0)
                start = self.accelerator.process_index * local
                drop = flat.repeat_interleave(self.num_generations)[start:start + local].to(mask.device)
                out["completion_mask"] = mask * (~drop).unsqueeze(1).to(mask.dtype)
                loss_mask = out["completion_mask"] * out["tool_mask"] if "tool_mask" in out else out["completion_mask"]
                out["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
            return out

    return FilteringGRPOTrainer


def grpo_args(cfg: Config, device: str, seed: int, output_dir: str, task=None):
    from trl import GRPOConfig

    t, s = cfg.train, cfg.sampling
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if s.temperature <= 0:
        raise ConfigError("grpo samples its own groups: sampling.temperature must be > 0.")
    if (t.batch_size * t.grad_accum * world) % s.n:
        raise ConfigError(f"grpo: train.batch_size x train.grad_accum x processes ({t.batch_size} x {t.grad_accum} "
                          f"x {world}) completions per step must be a multiple of sampling.n ({s.n}), the group size.")
    return GRPOConfig(**common_args(t, device, seed, output_dir), num_generations=s.n,
                      max_completion_length=resolve_max_new_tokens(s.max_new_tokens, task),
                      temperature=s.temperature, top_p=s.top_p,
                      beta=t.grpo.beta)


def train_grpo(model, tokenizer, problems: Sequence[Problem], task, cfg: Config, device: str, seed: int,
               save_dir: str | Path | None = None, log_dir: str | Path | None = None,
               base_path: str | None = None):
    """GRPO-train `model` on `problems` (rewards from `cfg.train.grpo.reward`); returns (model, TrainResult).

    The model comes back merged when LoRA is on (None when several processes trained it: then it is
    only saved). Counts: `train/groups` prompt groups sampled, `train/zero_variance_groups` of them
    with one reward for all completions (dropped from the loss when `train.grpo.zero_variance_filter`).
    """
    import datasets

    if not problems:
        raise ValueError("train_grpo needs at least one problem")
    start = time.time()
    datasets.disable_progress_bars()
    plain = resolve_prompt_format(cfg.prompt.format, tokenizer) == "plain"  # a base model: text prompts
    dataset = datasets.Dataset.from_list([{"prompt": format_prompt(p.prompt, "plain") if plain
                                           else prompt_messages(p.prompt), "problem_id": p.id} for p in problems])
    g = cfg.train.grpo
    funcs, weights, certainty = build_rewards(g.reward, g.format_reward, task, problems, tokenizer)
    with tempfile.TemporaryDirectory(prefix="selftaught-grpo-") as tmp, tracker_dir(cfg.train, log_dir):
        args = grpo_args(cfg, device, seed, tmp, task)
        args.reward_weights = weights
        trainer = _trainer_class()(
            model=model, reward_funcs=funcs, args=args, train_dataset=dataset, processing_class=tokenizer,
            peft_config=lora_config(cfg.train) if cfg.train.lora.enabled else None,
            zero_variance_filter=g.zero_variance_filter)
        if certainty is not None:
            certainty.model = trainer.model
        quiet_trainer(trainer)
        with labelled_positions_only():  # on a CPU too, as TRL does on a GPU
            out = train_with_progress(trainer)
    result = result_of(trainer, out, start, GRPO_KEYS)
    result.extra.update({"train/groups": trainer.groups_seen, "train/zero_variance_groups": trainer.groups_dropped,
                         "train/zero_variance_filter": g.zero_variance_filter})
    return finish(trainer, tokenizer, cfg.train, save_dir, base_path), result


def _run(cfg, model, tokenizer, records, device, seed, *, save_dir, log_dir, base_path, task=None, ref_model=None):
    problems = [from_dict(Problem, r) for r in records]
    return train_grpo(model, tokenizer, problems, task, cfg, device, seed, save_dir=save_dir, log_dir=log_dir,
                      base_path=base_path)


TRAINERS.register("grpo", Trainer("problems", _run, needs_task=True))
