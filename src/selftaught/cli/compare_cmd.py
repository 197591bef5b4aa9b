"""`selftaught compare`: a grid of recipe variants x seeds, run in parallel, resumable, reported with
paired intervals (the work is in selftaught.experiments; this module only parses and prints).

    selftaught compare default --vary loop.kind=rft,rest_em,bstar --seeds 5
    selftaught compare --spec spec.yaml --workers 2
    selftaught compare default --vary loop.kind=rft,bstar --seeds 5 --executor ray --address HOST:6379
    selftaught compare --report DIR        # rebuild compare.json / compare.html from the cells
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ..core.errors import ConfigError
from .common import find_recipe, user_errors

console = Console()


@user_errors
def compare_command(
    recipe: Optional[str] = typer.Argument(None, help="Recipe file or name in recipes/ (default: default)."),
    vary: Optional[list[str]] = typer.Option(None, "--vary", help="key=v1,v2,...: one variant per value "
                                             "(repeat for the product of several keys)."),
    seeds: int = typer.Option(3, help="Seeds per variant (seeds 0..N-1); cells pair by seed."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="Override a recipe key in every variant, "
                                                  "e.g. --set loop.rounds=3 (repeatable)."),
    spec_file: Optional[Path] = typer.Option(None, "--spec", help="A YAML spec (recipe, overrides, variants, "
                                             "seeds, baseline) instead of RECIPE/--vary/--seeds."),
    baseline: Optional[str] = typer.Option(None, help="Variant the others are compared with (default: the first)."),
    out: Optional[Path] = typer.Option(None, help="Comparison folder (default: runs/compare-NAME)."),
    workers: Optional[int] = typer.Option(None, help="Local workers (default: one per GPU, or as many as cells "
                                          "and CPU cores allow, with the cores shared out as torch threads)."),
    executor: str = typer.Option("local", help="`local` worker processes or `ray` (pip install selftaught\\[ray])."),
    address: Optional[str] = typer.Option(None, help="With --executor ray: the cluster's address (HOST:PORT); "
                                          "default: a local Ray instance."),
    cpus_per_cell: float = typer.Option(1.0, help="With --executor ray: CPUs each cell asks for (its torch threads)."),
    gpus_per_cell: Optional[float] = typer.Option(None, help="With --executor ray: GPUs each cell asks for "
                                                  "(default: 1 when the recipe's device is not cpu and the "
                                                  "cluster has GPUs, else 0)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Only rebuild DIR's compare.json and "
                                          "compare.html from its cells; runs nothing."),
) -> None:
    """Run variants x seeds of a recipe (each cell an ordinary run directory) and compare them with
    paired intervals; rerun the same command to resume."""
    from ..experiments.compare import analyse_folder, run_grid
    from ..experiments.spec import check_spec

    if report is not None:
        show(analyse_folder(report), report)
        return
    spec = build_spec(recipe, vary, seeds, overrides, spec_file, baseline)
    if address is not None and executor != "ray":
        raise ConfigError("--address is the Ray cluster's address: it needs --executor ray.")
    check_spec(spec)  # every variant's config, before anything is written
    folder = out or Path("runs") / f"compare-{spec.config(spec.baseline, spec.seeds[0]).name}"
    n = len(spec.variants) * len(spec.seeds)
    console.print(f"[bold]selftaught compare[/] {len(spec.variants)} variants x {len(spec.seeds)} seeds "
                  f"= {n} cells -> {folder}")
    results = run_grid(spec, folder, executor=executor, workers=workers, address=address,
                       cpus_per_cell=cpus_per_cell, gpus_per_cell=gpus_per_cell, on_done=_progress)
    show(analyse_folder(folder), folder)
    failed = [r for r in results if not r.ok]
    if failed:
        console.print(f"[bold red]{len(failed)} cell(s) failed[/]; rerun the same command to retry them:")
        for r in failed:
            console.print(f"  {r.job.label}: exit {r.returncode}, log {r.job.log}", highlight=False)
        raise typer.Exit(1)


def build_spec(recipe, vary, seeds, overrides, spec_file, baseline):
    from ..experiments.spec import CompareSpec, parse_seeds, spec_from_yaml, variants_from_vary

    if spec_file is not None:
        if recipe or vary:
            raise ConfigError("--spec gives the recipe and variants: drop RECIPE and --vary (or drop --spec).")
        spec = spec_from_yaml(spec_file, resolve_recipe=find_recipe)
        spec.overrides += list(overrides or [])
        spec.baseline = baseline or spec.baseline
        return spec
    if not vary:
        raise ConfigError("Nothing to compare: give --vary key=v1,v2 (e.g. --vary loop.kind=rft,bstar) or --spec FILE.")
    return CompareSpec(recipe=str(find_recipe(recipe)), variants=variants_from_vary(vary), seeds=parse_seeds(seeds),
                       overrides=list(overrides or []), baseline=baseline)


def _progress(result) -> None:
    if result.ok:
        console.print(f"cell {result.job.label} finished ({result.seconds:.0f} s)", highlight=False)
    else:
        console.print(f"[red]cell {result.job.label} failed[/] (exit {result.returncode}); log: {result.job.log}",
                      highlight=False)


def show(result: dict, folder: Path) -> None:
    """The variants table, the comparison lines and the warnings, in the terminal."""
    from ..report.compare_html import variant_rows

    headers, rows = variant_rows(result)
    table = Table(*headers, title="variants (mean over seeds, t interval)")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for c in result["comparisons"]:
        if c["metric"] == "final_accuracy":
            console.print(c["line"], highlight=False)
    for w in result["warnings"]:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    console.print(f"compare.json, compare.html in {folder}", highlight=False)
