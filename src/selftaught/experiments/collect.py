"""Read a comparison's cells back from disk: per cell its final held-out accuracy, its gain over
round 0, its learning curve and the compute it used. Only files are read (rounds/NNN/metrics.json,
rounds/NNN/*samples.jsonl), so a folder copied off a cluster can be analysed anywhere.

Sampled tokens are every token the loop generated to make training data: the round's attempts
(samples.jsonl) and every extra stage's samples (synth_, rationale_, revision_, verifier_pool_... samples.jsonl),
plus bstar's probe grid (`control/tokens`, which writes no sample file), the Monte-Carlo step labels'
continuations (step_labels.jsonl's `mc_tokens`) and a self-rewarding round's judgments (judgments.jsonl's
per-judgment `n_tokens`); files written before these were counted carry no counts and add nothing. The
held-out evaluation and the held-out probe (eval_ / probe_samples.jsonl) measure and are the same for every
variant, so they are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .spec import CompareSpec, cell_dirname


@dataclass
class CellData:
    variant: str
    seed: int
    root: Path
    rounds: list[dict[str, Any]] = field(default_factory=list)  # metrics.json of each finished round
    sampled_tokens: int = 0  # tokens generated for training data (see the module docstring)

    def finished(self, n_rounds: int) -> bool:
        return [m.get("round") for m in self.rounds] == list(range(n_rounds + 1))

    @property
    def curve(self) -> dict[int, float]:
        return {int(m["round"]): float(m["eval/accuracy"]) for m in self.rounds if m.get("eval/accuracy") is not None}

    @property
    def final(self) -> float | None:
        c = self.curve
        return c[max(c)] if c else None

    @property
    def gain(self) -> float | None:
        c = self.curve
        return c[max(c)] - c[0] if c and 0 in c and max(c) > 0 else None

    @property
    def trained_tokens(self) -> int | None:
        vals = [m["train/tokens"] for m in self.rounds if m.get("train/tokens") is not None]
        return int(sum(vals)) if vals else None

    @property
    def seconds(self) -> float:
        return float(sum(m.get("time/round") or 0.0 for m in self.rounds))

    def summary(self) -> dict[str, Any]:
        return {"variant": self.variant, "seed": self.seed, "dir": str(self.root), "rounds": len(self.rounds),
                "final_accuracy": self.final, "gain": self.gain, "sampled_tokens": self.sampled_tokens,
                "trained_tokens": self.trained_tokens, "seconds": round(self.seconds, 1)}


def cell_dir(folder: Path, variant: str, seed: int) -> Path:
    return folder / "cells" / cell_dirname(variant) / f"seed{seed}"


def read_cell(folder: Path, variant: str, seed: int) -> CellData:
    root = cell_dir(folder, variant, seed)
    cell = CellData(variant, seed, root)
    rounds_dir = root / "rounds"
    if not rounds_dir.is_dir():
        return cell
    for d in sorted(p for p in rounds_dir.iterdir() if p.name.isdigit()):
        metrics = d / "metrics.json"
        if not metrics.exists():
            continue  # an unfinished round
        cell.rounds.append(json.loads(metrics.read_text()))
        cell.sampled_tokens += int(cell.rounds[-1].get("control/tokens") or 0)
        for samples in sorted(d.glob("*samples.jsonl")):
            if samples.name not in MEASUREMENT_SAMPLES:
                cell.sampled_tokens += file_tokens(samples)
        if (d / "step_labels.jsonl").exists():
            cell.sampled_tokens += file_tokens(d / "step_labels.jsonl", key="mc_tokens")
        if (d / "judgments.jsonl").exists():
            cell.sampled_tokens += judgment_tokens(d / "judgments.jsonl")
    return cell


MEASUREMENT_SAMPLES = {"eval_samples.jsonl", "probe_samples.jsonl"}  # held-out: the same for every variant


def file_tokens(path: Path, key: str = "n_tokens") -> int:
    """Sum of `key` (n_tokens) over a records file's records."""
    with open(path, encoding="utf-8") as f:
        return sum(int(json.loads(line).get(key) or 0) for line in f if line.strip())


def judgment_tokens(path: Path) -> int:
    """Sum of n_tokens over every judgment of a judgments.jsonl file (select.rule judge)."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return sum(int(j.get("n_tokens") or 0) for r in rows for j in r.get("judgments") or [])


def read_cells(folder: Path, spec: CompareSpec) -> dict[str, dict[int, CellData]]:
    return {v: {s: read_cell(folder, v, s) for s in spec.seeds} for v in spec.variants}
