"""A comparison grid: check the spec, run the unfinished cells, analyse the finished ones.

    DIR/compare.yaml                   the spec and each variant's resolved config (a rerun must match)
    DIR/cells/<variant>/seed<k>/       an ordinary run directory per cell (+ cell.log)
    DIR/compare.json, DIR/compare.html the analysis, rebuilt from the cells by `analyse_folder`

A cell is finished when every round's metrics.json exists; finished cells are skipped, unfinished
ones resume like any run (the loop skips every step whose file exists).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from ..core.errors import ConfigError
from ..core.io import write_json
from . import analysis as an
from .collect import CellData, cell_dir, read_cell, read_cells
from .executors import CellJob, CellResult, plan_local, run_local, run_ray
from .spec import CompareSpec, check_spec, load_stored, store_or_check

METRICS = {"final_accuracy": "held-out accuracy, last round", "gain": "gain over round 0"}
COMPUTE = ("sampled_tokens", "trained_tokens", "seconds")
# Equal compute is judged on tokens: wall seconds on a shared machine vary by more than 10% between
# identical cells, so they are reported but not warned about.
WARN_COMPUTE = ("sampled_tokens", "trained_tokens")
COMPUTE_TOLERANCE = 0.10


def prepare(spec: CompareSpec, folder: Path) -> tuple[list[CellJob], int]:
    """Check the spec (ConfigError before anything runs), store or match compare.yaml; return the
    unfinished cells' jobs and the number already finished."""
    resolved = check_spec(spec)
    folder.mkdir(parents=True, exist_ok=True)
    store_or_check(folder, spec, resolved)
    jobs, done = [], 0
    for variant in spec.variants:
        rounds = resolved[variant]["loop"]["rounds"]
        for seed in spec.seeds:
            if read_cell(folder, variant, seed).finished(rounds):
                done += 1
                continue
            jobs.append(CellJob(variant, seed, str(cell_dir(folder, variant, seed).resolve()),
                                str(Path(spec.recipe).resolve()) if spec.recipe else None,
                                spec.cell_overrides(variant, seed), os.getcwd()))
    return jobs, done


def run_grid(spec: CompareSpec, folder: Path, executor: str = "local", workers: int | None = None,
             address: str | None = None, cpus_per_cell: float = 1, gpus_per_cell: float | None = None,
             on_done: Callable[[CellResult], None] = lambda r: None) -> list[CellResult]:
    """Run every unfinished cell of `spec` in `folder`; returns the results of the cells run now."""
    if executor not in ("local", "ray"):
        raise ConfigError(f"--executor {executor!r}: expected `local` or `ray`.")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: expected at least 1.")
    check_spec(spec)
    use_gpu = spec.config(spec.baseline, spec.seeds[0]).device != "cpu"
    if executor == "ray":
        from .executors import connect_ray

        connect_ray(address)  # a missing Ray or a dead address fails before compare.yaml is written
    jobs, _ = prepare(spec, folder)
    if not jobs:
        return []
    if executor == "ray":
        gpus = gpus_per_cell if gpus_per_cell is not None else (1.0 if use_gpu and _cluster_has_gpus() else 0.0)
        return run_ray(jobs, address, cpus_per_cell, gpus, on_done)
    return run_local(jobs, plan_local(len(jobs), workers, use_gpu), on_done)


def _cluster_has_gpus() -> bool:
    import ray

    return ray.cluster_resources().get("GPU", 0) > 0


def analyse(spec: CompareSpec, cells: dict[str, dict[int, CellData]], rounds: dict[str, int],
            level: float = 0.95) -> dict[str, Any]:
    """compare.json's content from the cells: per variant intervals, paired differences, curves, compute."""
    done = {v: {s: c for s, c in by_seed.items() if c.finished(rounds[v])} for v, by_seed in cells.items()}
    variants: dict[str, Any] = {}
    for v, by_seed in done.items():
        entry: dict[str, Any] = {"overrides": spec.variants[v], "seeds": sorted(by_seed), "final": {}, "compute": {}}
        for key in METRICS:
            vals = [getattr(c, "final" if key == "final_accuracy" else key) for c in by_seed.values()]
            vals = [100 * x for x in vals if x is not None]
            entry["final"][key] = {**an.mean_interval(vals, level).as_dict(), "values": vals} if vals else None
        curves = [{r: 100 * a for r, a in c.curve.items()} for c in by_seed.values()]
        entry["curve"] = an.curve_band(curves, level)
        for key in COMPUTE:
            vals = [c.summary()[key] for c in by_seed.values()]
            entry["compute"][key] = (sum(vals) / len(vals)) if vals and None not in vals else None
        variants[v] = entry
    comparisons = _comparisons(spec, done, level)
    warnings = _compute_warnings(variants)
    missing = [f"{v}/seed{s}" for v in spec.variants for s in spec.seeds if s not in done[v]]
    if missing:
        warnings.append(f"{len(missing)} cell(s) not finished, left out: {', '.join(missing)}.")
    return {"level": level, "baseline": spec.baseline, "seeds": spec.seeds, "spec": spec.as_dict(),
            "metrics": METRICS, "variants": variants, "comparisons": comparisons, "warnings": warnings,
            "cells": [c.summary() for by_seed in cells.values() for c in by_seed.values()]}


def _comparisons(spec: CompareSpec, done: dict[str, dict[int, CellData]], level: float) -> list[dict[str, Any]]:
    out = []
    base = done[spec.baseline]
    for v in spec.variants:
        if v == spec.baseline:
            continue
        seeds = sorted(set(done[v]) & set(base))
        for key in METRICS:
            attr = "final" if key == "final_accuracy" else key
            pairs = [(getattr(done[v][s], attr), getattr(base[s], attr)) for s in seeds]
            pairs = [(100 * a, 100 * b) for a, b in pairs if a is not None and b is not None]
            if not pairs:
                continue
            a, b = [p[0] for p in pairs], [p[1] for p in pairs]
            iv = an.paired_difference(a, b, level)
            out.append({"variant": v, "baseline": spec.baseline, "metric": key, **iv.as_dict(),
                        "bootstrap": an.paired_bootstrap(a, b, level), "line": an.verdict(v, spec.baseline, iv)})
    return out


def _compute_warnings(variants: dict[str, Any]) -> list[str]:
    out = []
    for key in WARN_COMPUTE:
        spread = an.compute_spread({v: e["compute"].get(key) for v, e in variants.items()})
        if spread is not None and spread > COMPUTE_TOLERANCE:
            per = ", ".join(f"{v} {e['compute'][key]:.4g}" for v, e in variants.items())
            out.append(f"variants differ in {key.replace('_', ' ')} by {spread:.0%} (> {COMPUTE_TOLERANCE:.0%}; "
                       f"mean per cell: {per}): not an equal-compute comparison.")
    return out


def analyse_folder(folder: Path) -> dict[str, Any]:
    """Analyse the cells of a comparison folder and write compare.json and compare.html."""
    from ..report.compare_html import write_compare_html

    spec, configs = load_stored(folder)
    rounds = {v: configs[v]["loop"]["rounds"] for v in spec.variants}
    result = analyse(spec, read_cells(folder, spec), rounds)
    result["folder"] = str(folder)
    write_json(folder / "compare.json", result)
    write_compare_html(folder / "compare.html", result)
    return result
