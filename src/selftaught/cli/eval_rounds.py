"""`selftaught eval --run-dir RUN --rounds all|1,3`: the same strategies on every kept round of a run.

The recipe is the run's own (RUN/config.yaml, as run), so each round is evaluated on the same held-out
problems the loop used; `--set` overrides apply on top. Round 0 is the run's starting model; round r
>= 1 is RUN/rounds/00r/checkpoint. With `loop.keep_checkpoints: last` (the default) only the last
round's checkpoint is kept: the other rounds are listed as skipped, with the key that keeps them in a
new run (`--set loop.keep_checkpoints=all`). Each round's traces and metrics go to OUT/round_00r/ (the
layout of a single `eval`), and a table of accuracy per round and strategy is printed at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from ..core.config import Config
from ..core.errors import ConfigError, SelftaughtError

KEEP_HINT = "--set loop.keep_checkpoints=all"


def parse_rounds(text: str, finished: list[int]) -> list[int]:
    """`all` or a comma list (`1,3`) of finished rounds.

    >>> parse_rounds("all", [0, 1, 2]), parse_rounds("2, 0", [0, 1, 2])
    ([0, 1, 2], [0, 2])
    """
    if text.strip() == "all":
        return list(finished)
    try:
        wanted = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ConfigError(f"--rounds {text!r}: give `all` or round numbers separated by commas, e.g. 1,3.") from None
    missing = [r for r in wanted if r not in finished]
    if missing or not wanted:
        raise ConfigError(f"--rounds {text!r}: round(s) {', '.join(map(str, missing)) or '(none)'} did not finish "
                          f"in this run; finished: {', '.join(map(str, finished)) or 'none'}.")
    return wanted


def round_models(run_dir: Path, cfg: Config, rounds: list[int]) -> tuple[dict[int, str], list[int]]:
    """({round: model folder or name} for rounds whose model is there, [rounds whose checkpoint was pruned])."""
    from ..loop.rundir import RunDir

    run = RunDir(run_dir)
    kept, pruned = {}, []
    for r in rounds:
        if r == 0:
            kept[r] = cfg.model
        elif run.checkpoint(r).is_dir():
            kept[r] = str(run.checkpoint(r))
        else:
            pruned.append(r)
    return kept, pruned


def load_run_config(run_dir: Path, overrides: list[str]) -> tuple[Config, list[int]]:
    """The run's config (RUN/config.yaml with `overrides`) and its finished rounds."""
    from ..core.config import load_config
    from ..loop.rundir import RunDir

    run = RunDir(run_dir)
    if not run.config_path.is_file():
        raise SelftaughtError(f"{run_dir} is not a run directory (no config.yaml): give the folder `selftaught run` "
                              "wrote, e.g. runs/NAME.")
    return load_config(run.config_path, overrides), run.finished_rounds()


def eval_rounds(run_dir: Path, rounds_text: str, strategies: list[str], recipe_sets: list[str],
                strategy_sets: list[str], out: Path | None, n: int | None, console: Any) -> list[dict[str, Any]]:
    """Evaluate `strategies` on each chosen round's model; returns one row per (round, strategy)."""
    from ..inference.runner import eval_main

    cfg, finished = load_run_config(run_dir, recipe_sets)
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    rounds = parse_rounds(rounds_text, finished)
    models, pruned = round_models(run_dir, cfg, rounds)
    if pruned:
        console.print(f"[yellow]skipped:[/] round(s) {', '.join(map(str, pruned))}: their checkpoints were deleted "
                      f"(loop.keep_checkpoints: {cfg.loop.keep_checkpoints}); run with {KEEP_HINT} to keep every "
                      "round's model.", highlight=False, soft_wrap=True)
    if not models:
        raise SelftaughtError(f"no chosen round of {run_dir} has its model any more; run with {KEEP_HINT}.")
    target = out or Path("runs") / f"{cfg.name}-eval"
    rows = []
    for r, model in models.items():
        console.rule(f"round {r}: {model}")
        round_cfg = cfg.model_copy(update={"model": model})
        for m in eval_main(cfg.task, model, strategies, strategy_sets, target / f"round_{r:03d}", seed=cfg.seed,
                           n_problems=n, config=round_cfg, console=console):
            rows.append({"round": r, **m})
    console.print(rounds_table(rows, pruned))
    console.print(f"traces and metrics per round in {target}/round_NNN", highlight=False)
    return rows


def rounds_table(rows: list[dict[str, Any]], pruned: list[int]) -> Table:
    """Accuracy of each strategy (columns) on each round's model (rows); pruned rounds say so."""
    labels = list(dict.fromkeys(m["label"] for m in rows))
    table = Table(title="held-out accuracy per round", title_justify="left")
    table.add_column("round")
    for label in labels:
        table.add_column(label, justify="right")
    by = {(m["round"], m["label"]): m for m in rows}
    for r in sorted({m["round"] for m in rows} | set(pruned)):
        if r in pruned:
            table.add_row(str(r), *(["skipped (checkpoint deleted)"] + [""] * (len(labels) - 1)))
            continue
        cells = [by.get((r, label), {}).get("accuracy") for label in labels]
        table.add_row(str(r), *("-" if c is None else f"{100 * c:.1f}%" for c in cells))
    return table
