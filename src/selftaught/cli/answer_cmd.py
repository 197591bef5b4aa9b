"""`selftaught answer RUN_DIR_OR_MODEL "question"` (or `--file questions.jsonl`): use a trained model.

A run directory's round (`--round N|latest`; 0 is the run's base model) answers with the run's prompt
(system instruction and worked examples of its task) and backend; a model folder, Hub id or `default`
answers the bare question (or as `--recipe`'s task prompts). `--strategy` is any test-time strategy
(`greedy`, `self_consistency` with `--set n=8`, ...). Prints each final answer, `--show` the whole
completion; `--out FILE` writes one JSON object a question. Registered in cli/main.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .common import console, err_console, load_recipe, quiet_libraries, set_option, user_errors


@user_errors
def answer_command(
    target: str = typer.Argument(..., help="A run directory, a model folder, a Hub id or `default`."),
    question: Optional[str] = typer.Argument(None, help="The question (or use --file)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="A JSONL file of questions (a `question` field "
                                        "each; an `answer` field adds a verdict, an `id` field is kept)."),
    round_spec: str = typer.Option("latest", "--round", help="A run's round: a number (0: the base model) or latest."),
    strategy: str = typer.Option("greedy", "--strategy", "-s", help="Test-time strategy: greedy, self_consistency, "
                                 "best_of_n, ... (an unknown name lists them all) or a user's `module:object`."),
    overrides: Optional[list[str]] = set_option("A strategy key (n=8, temperature=0.7) or a config key "
                                                "(device=cpu, backend=hf); repeatable."),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="For a model (not a run): prompt as this "
                                         "recipe's task does, with its backend."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the answers as JSONL here (default: print them)."),
    show: bool = typer.Option(False, "--show", help="Print each whole completion, not only the final answer."),
) -> None:
    """Answer a question (or a JSONL file of them) with a run's model or any model, under any strategy."""
    from ..core.errors import SelftaughtError
    from ..inference import check_strategy
    from ..inference.runner import split_overrides
    from ..use.answer import answer_questions, read_questions, split_sets
    from ..use.source import open_source

    if (question is None) == (file is None):
        raise SelftaughtError("give either a question or --file questions.jsonl (one of them).")
    questions = read_questions(file) if file is not None else [question]
    config_sets, strategy_sets = split_sets(overrides or [])
    check_strategy(strategy)
    options = split_overrides([strategy], strategy_sets)[strategy]
    recipe_cfg = load_recipe(recipe, config_sets) if recipe else None
    source = open_source(target, round_spec, config_sets, recipe_cfg)
    if source.cfg.threads:
        import torch

        torch.set_num_threads(source.cfg.threads)
    quiet_libraries()
    err_console.print(f"[bold]selftaught answer[/] {len(questions)} question(s), {strategy}, {source.label}",
                      highlight=False, soft_wrap=True)
    rows = answer_questions(source, questions, strategy, options)
    if out is not None:
        from ..core.io import write_jsonl

        write_jsonl(out, rows)
    for row in rows:
        _print(row, show, many=len(rows) > 1 or out is not None)
    if out is not None:
        console.print(f"{len(rows)} answers in {out}", highlight=False)


def _print(row: dict, show: bool, many: bool) -> None:
    """One answer on stdout: the answer alone for one question, `question -> answer` lines for several."""
    answer = "(no final answer)" if row["answer"] is None else row["answer"]
    if show:
        console.print(f"[bold]Q:[/] {row['question']}", highlight=False, soft_wrap=True)
        console.print(row["completion"], markup=False, highlight=False, soft_wrap=True)
    if many or show:
        verdict = f"  ({row['verdict']}; gold {row['gold']})" if "verdict" in row else ""
        console.print(f"[bold]A:[/] {escape(str(answer))}{escape(verdict)}", highlight=False, soft_wrap=True)
    else:
        typer.echo(answer)
    if show:
        console.print(json.dumps({k: row[k] for k in ("confidence", "tokens")}), highlight=False)
