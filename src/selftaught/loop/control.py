"""B-STaR's controller (Zeng et al., ICLR 2025): re-choose temperature and threshold every round.

Before round r's full sampling, the first `control.probe_size` training problems are sampled with
round r-1's model at every temperature of `control.temperatures`; for every threshold of
`control.thresholds` (rule `threshold` only) the selection is made and its balance score computed
(select.selection_metrics: per problem min(c/n*, 1) * c/s, averaged). The grid point with the
highest balance wins (first in grid order on ties). The grid and the choice are saved to
rounds/NNN/control.json, so a resumed round keeps its choice.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from ..core.io import write_json
from ..metrics import round_metrics
from ..select import selection_metrics
from .context import RoundContext, RoundSettings


def best_point(grid: list[dict[str, Any]]) -> dict[str, Any]:
    """The grid point with the highest balance score; the earliest one on ties; None scores lose.

    >>> best_point([{"t": 0.5, "balance": 0.2}, {"t": 0.7, "balance": 0.3}, {"t": 0.9, "balance": 0.3}])
    {'t': 0.7, 'balance': 0.3}
    """
    if not grid:
        raise ValueError("empty controller grid")
    return max(grid, key=lambda p: -1.0 if p["balance"] is None else p["balance"])


def choose_settings(ctx: RoundContext, index: int) -> tuple[RoundSettings, dict[str, Any]]:
    """(settings for round `index`, control/* metrics), from control.json when it exists."""
    path = ctx.run.path(index, "control.json")
    if path.exists():
        saved = json.loads(path.read_text())
    else:
        start = time.time()
        saved = {"grid": probe_grid(ctx, index)}
        saved["seconds"] = round(time.time() - start, 2)
        saved["tokens"] = sum(point.pop("tokens") for point in saved["grid"])
        best = best_point(saved["grid"])
        saved["temperature"], saved["threshold"] = best["temperature"], best["threshold"]
        write_json(path, saved)
    settings = replace(ctx.default_settings(), temperature=saved["temperature"], threshold=saved["threshold"])
    metrics = {"control/grid": saved["grid"], "control/temperature": saved["temperature"],
               "control/threshold": saved["threshold"], "control/tokens": saved["tokens"],
               "time/control": saved["seconds"]}
    return settings, metrics


def probe_grid(ctx: RoundContext, index: int) -> list[dict[str, Any]]:
    """One point per (temperature, threshold): the balance of the selection from the probe samples."""
    cfg = ctx.cfg
    problems = ctx.train_problems(index)[: cfg.control.probe_size]
    thresholds = (cfg.control.thresholds or [cfg.select.threshold]) if cfg.select.rule == "threshold" else [None]
    generator = ctx.state.generator(index - 1, matmul_dtype=cfg.sampling.matmul_dtype)
    grid = []
    for t_i, temperature in enumerate(cfg.control.temperatures):
        ctx.console.print(f"control: {len(problems)} probe problems x {cfg.sampling.n} at T={temperature:g}")
        params = ctx.params(temperature, ctx.seed("control", index, t_i))
        groups = generator.generate([p.prompt for p in problems], params, n=cfg.sampling.n,
                                    problem_ids=[p.id for p in problems])
        samples = [x for g in groups for x in g]
        scores = ctx.score(problems, samples)
        rollout = round_metrics(problems, samples, scores, ks=ctx.ks)
        for threshold in thresholds:
            settings = replace(ctx.default_settings(), temperature=temperature, threshold=threshold)
            chosen = ctx.choose(problems, samples, scores, settings, index)
            m = selection_metrics(problems, samples, scores, chosen, n_star=cfg.select.n_star)
            grid.append({"temperature": temperature, "threshold": threshold, "balance": m["balance"],
                         "precision": m["precision"], "recall": m["recall"], "pass@1": rollout.get("pass@1"),
                         f"pass@{cfg.sampling.n}": rollout.get(f"pass@{cfg.sampling.n}"),
                         "distinct_correct": rollout.get("distinct_correct"),
                         "tokens": rollout.get("tokens", 0) if threshold == thresholds[0] else 0})
    return grid
