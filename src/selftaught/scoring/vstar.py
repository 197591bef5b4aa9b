"""Scorer `verifier_dpo`: V-STaR's DPO-trained verifier (train/vstar.py), scoring a solution by its DPO reward.

The reward of solution y to question x is DPO's implicit one, `beta * (log pi_V(y|x) - log pi_ref(y|x))`
(sums over y's tokens; pi_ref the model the verifier started from), mapped into (0, 1) by a sigmoid
so best-of-N reports it as a confidence. The folder comes from the context key `verifier_dpo_path`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from ..core.errors import ConfigError
from ..core.records import Problem, Sample
from .judge import question_of
from .learned import read_verifier
from .spec import SCORERS, Scorer


def completion_logprob(model, tokenizer, question: str, solution: str, device: str = "cpu") -> float:
    """Sum of log p(solution tokens | chat prompt of `question`) under `model`."""
    messages = [{"role": "user", "content": question}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": solution}], tokenize=False)
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0, :-1].float()
    logp = torch.log_softmax(logits, -1).gather(-1, torch.tensor(ids[1:], device=device)[:, None])[:, 0]
    return float(logp[len(p_ids) - 1:].sum())


class DPOVerifier:
    """sigmoid(beta * (log pi_V(y|x) - log pi_ref(y|x))) per sample; see the module docstring."""

    bounded = True

    def __init__(self, path: str | Path, device: str = "cpu"):
        self.meta = read_verifier(path, "dpo")
        from ..models.resolve import load_model

        self.device = device
        self.model, self.tokenizer = load_model(str(path), device, "float32")
        self.ref, _ = load_model(self.meta["reference"], device, "float32")
        self.beta = float(self.meta.get("beta", 0.1))
        self.cache: dict[tuple[str, str], float] = {}  # (question, solution) -> score: a pool is often scored twice

    def __call__(self, problems: list[Problem], samples: list[Sample]) -> list[float]:
        out = []
        for p, s in zip(problems, samples):
            q = question_of(p)
            if (q, s.text) not in self.cache:
                margin = (completion_logprob(self.model, self.tokenizer, q, s.text, self.device)
                          - completion_logprob(self.ref, self.tokenizer, q, s.text, self.device))
                self.cache[q, s.text] = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, self.beta * margin))))
            out.append(self.cache[q, s.text])
        return out


def _build(**context: Any) -> DPOVerifier:
    path = context.get("verifier_dpo_path")
    if not path:
        raise ConfigError("the verifier_dpo scorer needs the folder of a DPO-trained verifier: pass the scorer option "
                          "`verifier_dpo_path` (inference.Context(scorer_options={'verifier_dpo_path': FOLDER})).")
    return DPOVerifier(path, device=context.get("verifier_device", "cpu"))


SCORERS.register("verifier_dpo", Scorer(_build, bounded=True))
