"""Run strategies on the same problems, score them, write traces, metrics, a table and a plot.

    out_dir/LABEL/config.json     the strategy, its validated config, task and prompt versions
    out_dir/LABEL/traces.jsonl    one line per problem: answer, confidence, verdict, tokens, every
                                  sample / critique / revision / verifier check (texts, token counts,
                                  each text's own verdict from the task's verifier)
    out_dir/LABEL/metrics.json    `report.strategy_metrics`
    out_dir/summary.json          every label's metrics
    out_dir/accuracy_vs_tokens.png

Per-text verdicts in the trace come from the task's verifier after the strategy has finished; strategies
never see them (except the `oracle` scorer and the verifier-signal mode, which say so).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from ..core.config import Config, TaskConfig, apply_overrides
from ..core.errors import ConfigError
from ..core.io import write_json, write_jsonl
from ..core.protocols import Generator, Task
from ..core.records import Problem
from ..models.backends import generator_source
from ..scoring import JUDGE_VERSION, RATIONALE_JUDGE_VERSION, question_of
from . import STRATEGIES, build_strategy, check_strategy, strategy_name, strategy_run
from .base import Context, StrategyConfig, StrategyResult
from .report import plot_accuracy_vs_tokens, results_table, strategy_metrics
from .self_refine import REFINE_VERSION

_SCORED_STEPS = ("sample", "revision")


def _verdict(task: Task, problem: Problem, text: str) -> str | None:
    return None if problem.answer is None else task.score(problem, text).verdict


def label_results(task: Task, problems: list[Problem], results: list[StrategyResult],
                  name: str) -> list[dict[str, Any]]:
    """Score each final answer (and every sample / revision in the trace) with the task's verifier."""
    rows = []
    for problem, result in zip(problems, results):
        if problem.id != result.problem_id:
            raise RuntimeError(f"strategy {name} returned results out of order ({result.problem_id} for {problem.id}).")
        verdict = _verdict(task, problem, result.final_text)
        for event in result.trace:
            if event.get("step") in _SCORED_STEPS:
                event["verdict"] = _verdict(task, problem, event["text"])
        row = {"problem_id": problem.id, "question": question_of(problem), "gold": problem.answer, "strategy": name,
               "answer": result.answer, "confidence": result.confidence, "verdict": verdict,
               "correct": None if verdict is None else verdict == "correct", "tokens": result.tokens,
               "final_text": result.final_text, "extra": result.extra, "trace": result.trace}
        if "before_text" in result.extra:
            before = _verdict(task, problem, result.extra["before_text"])
            row["before_correct"] = None if before is None else before == "correct"
        rows.append(row)
    return rows


def evaluate_strategy(task: Task, generator: Generator, problems: list[Problem], strategy_cfg: StrategyConfig,
                      out_dir: str | Path, label: str | None = None, ctx: Context | None = None) -> dict[str, Any]:
    """Run one strategy on `problems`, write its traces and metrics under `out_dir/LABEL/`, return the metrics.

    Pass the same `ctx` to several calls to share sample pools (and a judge's cache) between strategies.
    """
    name = strategy_name(strategy_cfg)
    label = label or name
    ctx = ctx or Context(task, generator)
    start = time.time()
    results = strategy_run(name)(strategy_cfg, ctx, problems)
    elapsed = time.time() - start
    rows = label_results(task, problems, results, name)
    metrics = {"label": label, "strategy": name, **strategy_metrics(rows), "time_s": round(elapsed, 1),
               "upper_bound": bool(getattr(strategy_cfg, "scorer", None) == "oracle"
                                   or getattr(strategy_cfg, "verifier_signal", False)),
               "config": strategy_cfg.model_dump(mode="json")}
    folder = Path(out_dir) / label
    write_json(folder / "config.json", {"strategy": name, "config": strategy_cfg.model_dump(mode="json"),
                                        "task": getattr(task, "name", None),
                                        "task_version": getattr(task, "version", None),
                                        "refine_version": REFINE_VERSION, "judge_version": JUDGE_VERSION,
                                        "rationale_judge_version": RATIONALE_JUDGE_VERSION,
                                        "seed": ctx.seed, "n_problems": len(problems)})
    write_jsonl(folder / "traces.jsonl", rows)
    write_json(folder / "metrics.json", metrics)
    return metrics


def write_comparison(all_metrics: list[dict[str, Any]], out_dir: str | Path, title: str = "") -> Path:
    """summary.json and the accuracy-vs-tokens plot for strategies run on the same problems."""
    out = Path(out_dir)
    write_json(out / "summary.json", all_metrics)
    return plot_accuracy_vs_tokens(all_metrics, out / "accuracy_vs_tokens.png", title)


def split_overrides(strategies: Sequence[str], overrides: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per-strategy options from `key=value` strings: `NAME.key=v` targets one strategy, `key=v` every
    strategy that has the field. A key no chosen strategy has is an error."""
    options: dict[str, dict[str, Any]] = {s: {} for s in strategies}
    for text in overrides:
        key = text.split("=", 1)[0].strip()
        head, _, rest = key.partition(".")
        if head in options and rest:
            targets, entry = [head], text.split(".", 1)[1]
        else:
            targets, entry = [s for s in strategies if key in STRATEGIES.get(s)[0].model_fields], text
        if not targets:
            valid = sorted({f for s in strategies for f in STRATEGIES.get(s)[0].model_fields})
            raise ConfigError(f"--set {text!r}: no chosen strategy ({', '.join(strategies)}) has `{key}`. "
                              f"Valid keys: {', '.join(valid)}; or NAME.key for one strategy.")
        for s in targets:
            apply_overrides(options[s], [entry])
    return options


# `--set` keys that go to the scorers, not the strategies: the folders of learned verifiers (scoring/learned.py)
SCORER_OPTIONS = {"verifier_path": "outcome", "prm_path": "prm", "verifier_dpo_path": "dpo"}


def scorer_overrides(overrides: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """({verifier_path / prm_path / verifier_dpo_path: folder}, the other overrides); each folder is
    checked to hold a verifier of its kind here, before any model loads."""
    from ..scoring.learned import read_verifier

    options, rest = {}, []
    for text in overrides:
        key, _, value = text.partition("=")
        if key.strip() in SCORER_OPTIONS:
            read_verifier(value.strip(), SCORER_OPTIONS[key.strip()])
            options[key.strip()] = value.strip()
        else:
            rest.append(text)
    return options, rest


def eval_generator(cfg: Config) -> Generator:
    """The generator `cfg.backend` names over `cfg.model`, as the loop builds it for round 0: `openai` loads
    only the tokenizer (the servers hold the weights; server.reload_command, if set, points them at the
    model), `vllm` loads the model folder itself, `hf` / `fast` load the model here in `cfg.dtype`.
    Strategies sample, so the generator works `sampling.batch_size` sequences at a time."""
    from ..models import build_generator, load_model, resolve_model

    if cfg.backend == "openai":
        from ..models.openai_backend import reload_server
        from ..models.resolve import load_tokenizer

        path = resolve_model(cfg.model)
        reload_server(cfg, path, show_progress=True)  # no-op without server.reload_command
        generator = build_generator(cfg, None, load_tokenizer(path))
    elif cfg.backend == "vllm":
        generator = build_generator(cfg, resolve_model(cfg.model), None)
    else:
        model, tokenizer = load_model(cfg.model, device=cfg.device, dtype=cfg.dtype)
        generator = build_generator(cfg, model, tokenizer)
    if hasattr(generator, "batch_size"):
        generator.batch_size = cfg.sampling.batch_size
    if hasattr(generator, "progress"):
        generator.progress = True
    return generator


def eval_main(task_cfg: TaskConfig | dict[str, Any], model: str, strategy: str | Sequence[str],
              overrides: Sequence[str] = (), out_dir: str | Path = "runs/eval", *, seed: int = 0,
              n_problems: int | None = None, device: str = "auto", dtype: str = "auto", batch_size: int = 64,
              generator: Generator | None = None, config: Config | None = None,
              console: Any = None) -> list[dict[str, Any]]:
    """`selftaught eval`: run strategies on the task's eval split and write everything under `out_dir`.

    `strategy` is a name, a list of names, or "all"; `overrides` are `key=value` / `NAME.key=value`
    strings for the strategy configs (see `split_overrides`). All configs are validated before a model
    is loaded. The generator: `generator` if given, else `eval_generator(config)` (the recipe's backend),
    else the hf backend over `model` (`device`, `dtype`, `batch_size`). Returns each strategy's metrics
    (also in out_dir/summary.json).
    """
    from ..tasks import build_task

    names = STRATEGIES.names() if strategy == "all" or strategy == ["all"] else (
        [strategy] if isinstance(strategy, str) else list(strategy))
    for name in names:
        check_strategy(name)
    scorer_options, overrides = scorer_overrides(overrides)
    options = split_overrides(names, list(overrides))
    configs = {name: build_strategy(name, options[name]) for name in names}
    task_cfg = task_cfg if isinstance(task_cfg, TaskConfig) else TaskConfig.model_validate(task_cfg)
    task = build_task(task_cfg)
    problems = task.problems("eval", n_problems or task_cfg.n_eval, seed)
    if generator is None:
        config = config or Config(model=model, device=device, dtype=dtype, task=task_cfg,
                                  sampling={"batch_size": batch_size})
        generator = eval_generator(config)
    ctx = Context(task, generator, seed=seed, scorer_options=scorer_options)
    all_metrics = [{**evaluate_strategy(task, generator, problems, cfg, out_dir, ctx=ctx),
                    "generation": generator_source(generator)} for cfg in configs.values()]
    write_comparison(all_metrics, out_dir, f"{task.name}, {len(problems)} problems, {model}")
    if console is not None:
        console.print(results_table(all_metrics, f"{task.name}: {len(problems)} eval problems"))
    return all_metrics
