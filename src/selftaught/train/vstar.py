"""V-STaR's verifier: the model trained by DPO on pairs of its own (correct, incorrect) solutions.

Hosseini et al. 2024 ("V-STaR: Training Verifiers for Self-Taught Reasoners") keep the wrong attempts
STaR throws away: for each question, a correct solution is preferred over an incorrect one, and a
copy of the model is trained on those pairs with DPO (here TRL's `DPOTrainer` through
`train.dpo.train_dpo`). The trained verifier ranks candidate solutions by its DPO reward
(`scoring.vstar.DPOVerifier`). The prompt is the bare question as one user message (no few-shot
examples), at training and scoring alike. Saved as a plain model folder plus `verifier.json` with
`kind: dpo`, the reference model and beta.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..core.config import TrainConfig
from ..core.errors import DataError
from ..core.records import Problem, Sample, Score
from ..scoring.judge import question_of
from ..scoring.learned import VERIFIER_FILE
from .common import TrainResult


def question_problems(problems: Sequence[Problem]) -> list[Problem]:
    """The problems with their prompt reduced to the bare question as one user message."""
    return [Problem(p.id, [{"role": "user", "content": question_of(p)}], p.answer, dict(p.meta)) for p in problems]


def solution_pairs(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score],
                   per_problem: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """Up to `per_problem` (correct, incorrect) DPO pairs per question (select.build_pairs, question-only prompts)."""
    from ..select import build_pairs

    return build_pairs(question_problems(problems), samples, scores, max_pairs_per_problem=per_problem, seed=seed)


def train_dpo_verifier(base_path: str, pairs: list[dict[str, Any]], save_dir: str | Path, cfg: TrainConfig,
                       seed: int = 0, device: str = "cpu") -> TrainResult:
    """DPO-train a copy of `base_path` on solution `pairs` and save it as a `dpo` verifier in `save_dir`."""
    from ..models.resolve import load_model, resolve_model
    from .dpo import train_dpo

    if not pairs:
        raise DataError("no (correct, incorrect) solution pairs to train the DPO verifier on: every question "
                        "needs at least one right and one wrong attempt.")
    model, tokenizer = load_model(base_path, device, "float32")
    _, result = train_dpo(model, tokenizer, pairs, cfg, device, seed, save_dir=save_dir)
    meta = {"kind": "dpo", "reference": resolve_model(base_path), "beta": cfg.dpo.beta, "pairs": len(pairs),
            "metrics": result.metrics()}
    (Path(save_dir) / VERIFIER_FILE).write_text(json.dumps(meta, indent=1))
    return result
