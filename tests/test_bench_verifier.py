"""benchmarks/verifier.py end to end on a tiny random Llama (outcome verifier, MC step labels, PRM, every
strategy row), its resume and settings guard, and benchmarks/verifier_seeds.py over two seeds."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = _load("verifier")
seeds = sys.modules["verifier_seeds"]  # imported by verifier.py from benchmarks/


def _args(model: str, out: Path, seed: int, *extra: str) -> list[str]:
    return ["--model", model, "--prm", "--train-problems", "4", "--eval-problems", "4", "--k", "2",
            "--label-samples", "2", "--label-k", "1", "--epochs", "1", "--batch-size", "4",
            "--max-new-tokens", "12", "--seed", str(seed), "--out", str(out), *extra]


@pytest.fixture(scope="module")
def runs(tiny_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-verifier")
    outs = [root / f"seed{s}" for s in (0, 1)]
    for s, out in enumerate(outs):
        assert verifier.main(_args(tiny_path, out, s)) == 0
    return outs


def test_summary_has_every_strategy_and_scorer(runs):
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert (summary["task"], summary["prompt_form"], summary["k"], summary["seed"]) == ("basic_arithmetic", "steps", 2, 0)
    labels = [r["label"] for r in summary["strategies"]]
    assert labels == ["sample@2", "self_consistency@2", "best_of_n[verifier]@2", "weighted_vote[verifier]@2",
                      "best_of_n[prm]@2", "weighted_vote[prm]@2", "best_of_n[self_certainty]@2",
                      "best_of_n[logprob]@2", "best_of_n[oracle]@2 (upper bound)"]
    assert all(0.0 <= r["accuracy"] <= 1.0 and len(r["ci"]) == 2 for r in summary["strategies"])
    assert {f"auroc_{n}" for n in ("verifier", "prm", "self_certainty", "logprob")} <= set(summary["scorers"])
    assert summary["scorers"]["samples"] == 8
    assert set(summary["paired_vs_sc"]) == set(labels[2:6])
    assert all(len(c) == 4 for c in summary["correct"].values())
    prm = summary["prm"]
    assert prm["train"]["records"] == prm["step_labels"]["attempts"] == 2
    assert "truth_agreement" in prm["step_labels"]  # basic_arithmetic with + and - has an exact step truth
    assert (runs[0] / "prm" / "verifier.json").is_file() and (runs[0] / "verifier" / "verifier.json").is_file()
    records = [json.loads(x) for x in (runs[0] / "step_labels.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(r["k"] == 1 and "truth" in r for r in records)
    # the held-out pool was sampled with the step-structured worked examples too
    config = json.loads((runs[0] / "sample@2" / "config.json").read_text())
    assert config["task_version"].endswith(";demos=steps")


def test_rerun_reads_back_and_other_settings_are_refused(runs, tiny_path, capsys):
    trained = {p: p.stat().st_mtime_ns for p in (runs[1] / "verifier" / "verifier.json", runs[1] / "prm" / "verifier.json",
                                                   runs[1] / "train_samples.jsonl", runs[1] / "step_labels.jsonl")}
    assert verifier.main(_args(tiny_path, runs[1], 1)) == 0
    assert {p: p.stat().st_mtime_ns for p in trained} == trained
    assert verifier.main(_args(tiny_path, runs[1], 1, "--label-k", "2")) == 2
    assert "label_k: 1 there, 2 now" in capsys.readouterr().err


def test_dpo_adds_the_vstar_verifier_to_an_earlier_run(runs, tiny_path, tmp_path):
    out = tmp_path / "with-dpo"
    shutil.copytree(runs[1], out)
    # the tiny model never answers right: make each training problem's first attempt right, so pairs exist
    gold = {p.id: p.answer for p in verifier.make_task(verifier.parse(_args(tiny_path, out, 1))).problems("train", 4, 1)}
    rows = [json.loads(x) for x in (out / "train_samples.jsonl").read_text().splitlines()]
    for r in rows:
        r["text"] = f"Answer: {gold[r['problem_id']]}" if r["index"] == 0 else r["text"]
    (out / "train_samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    kept = {p: p.stat().st_mtime_ns for p in (out / "verifier" / "verifier.json", out / "prm" / "verifier.json",
                                              out / "train_samples.jsonl", out / "step_labels.jsonl")}
    assert verifier.main(_args(tiny_path, out, 1, "--dpo")) == 0
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # only the V-STaR verifier is new
    summary = json.loads((out / "summary.json").read_text())
    labels = [r["label"] for r in summary["strategies"]]
    assert {"best_of_n[verifier_dpo]@2", "weighted_vote[verifier_dpo]@2"} <= set(labels)
    assert "auroc_verifier_dpo" in summary["scorers"] and "best_of_n[verifier_dpo]@2" in summary["paired_vs_sc"]
    assert 1 <= summary["verifier_dpo"]["pairs"] <= 4 and (out / "verifier_dpo" / "verifier.json").is_file()
    before = json.loads((runs[1] / "summary.json").read_text())
    same = [r for r in summary["strategies"] if r["label"] in {x["label"] for x in before["strategies"]}]
    assert same == before["strategies"]  # the same held-out pool and the same other rows


def test_an_out_of_the_first_version_is_refused_for_other_settings(tiny_path, tmp_path, capsys):
    (tmp_path / "verifier").mkdir()  # the first version wrote no settings.json; it ran basic_arithmetic only
    assert verifier.main(_args(tiny_path, tmp_path, 0)) == 2
    assert "earlier version" in capsys.readouterr().err


def test_seeds_table_has_the_paired_differences(runs, capsys):
    assert seeds.main([str(runs[0]), str(runs[1] / "summary.json")]) == 0
    table = capsys.readouterr().out
    assert "seeds 0, 1" in table
    for label in ("best_of_n[verifier]@2", "weighted_vote[verifier]@2", "best_of_n[prm]@2", "weighted_vote[prm]@2"):
        row = next(line for line in table.splitlines() if line.startswith(f"| {label} | ") and "at 2 seeds" in line)
        assert row.count("[") >= 3  # the label's own, the paired t interval and the pooled bootstrap
    assert "| prm | " in table and "steps labelled as the truth says" in table


def test_seeds_refuses_mixed_tasks_and_repeated_seeds(runs, tmp_path, capsys):
    other = tmp_path / "chain"
    other.mkdir()
    summary = json.loads((runs[1] / "summary.json").read_text())
    (other / "summary.json").write_text(json.dumps({**summary, "task": "chain_sum"}))
    assert seeds.main([str(runs[0]), str(other)]) == 2
    err = capsys.readouterr().err
    assert "differ in `task`" in err and "chain_sum" in err
    twice = tmp_path / "twice"
    shutil.copytree(runs[0], twice, ignore=shutil.ignore_patterns("verifier", "prm"))
    assert seeds.main([str(runs[0]), str(twice)]) == 2
    assert "same seed" in capsys.readouterr().err
    assert seeds.main([str(tmp_path / "nothing")]) == 2
    assert "no summary.json" in capsys.readouterr().err


def _summary(seed: int, sc: list[bool], best: list[bool]) -> dict:
    rows = [{"label": label, "accuracy": sum(c) / len(c)} for label, c in
            (("self_consistency@4", sc), ("best_of_n[verifier]@4", best))]
    return {"task": "chain_sum", "k": 4, "prompt_form": "steps", "model": "m", "seed": seed, "strategies": rows,
            "scorers": {"auroc_verifier": 0.5 + 0.1 * seed}, "problem_ids": [str(i) for i in range(len(sc))],
            "correct": {"self_consistency@4": sc, "best_of_n[verifier]@4": best}}


def test_seeds_table_numbers(tmp_path, capsys):
    """Differences of 25, 50 and 37.5 points over 3 seeds: mean 37.5, t interval 37.5 +- 4.303 * 12.5 / sqrt(3)."""
    sc = [True, False, False, False, False, False, False, False]
    wins = {0: 2, 1: 4, 2: 3}
    paths = []
    for seed, extra in wins.items():
        best = [True] + [i <= extra for i in range(1, 8)]
        (tmp_path / f"s{seed}").mkdir()
        (tmp_path / f"s{seed}" / "summary.json").write_text(json.dumps(_summary(seed, sc, best)))
        paths.append(str(tmp_path / f"s{seed}"))
    assert seeds.main(paths) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("| best_of_n[verifier]@4 | 37.5 |"))
    assert "| [6.4, 68.6] |" in row and "| met |" in row and "higher at 3 seeds" in row
    assert "| self_consistency@4 | 12.5 | [12.5, 12.5] | 12.5, 12.5, 12.5 |" in table
    assert "| verifier | 0.600 | " in table


prm_steps = _load("prm_steps")


def test_prm_steps_scores_every_step_of_the_runs_against_the_truth(runs, tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert prm_steps.main([str(runs[0]), str(runs[1]), "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["set"], r["folder"]) for r in rows] == [(s, f) for s in prm_steps.SETS for f in ("seed0", "seed1", "pooled")]
    labels = [json.loads(x) for x in (runs[0] / "step_labels.jsonl").read_text().splitlines()]
    assert rows[0]["metrics"]["steps"] == sum(len(r["truth"]) for r in labels if r["truth"] is not None)
    assert rows[3]["metrics"]["steps"] == rows[0]["metrics"]["steps"]  # the PRM on the same steps it learned
    pool = rows[6]["metrics"]  # seed 0's held-out pool: 4 problems x 2 samples, each at least one step
    assert pool["steps"] >= 8 and 0.0 <= pool["accuracy"] <= 1.0
    assert rows[8]["metrics"]["steps"] == pool["steps"] + rows[7]["metrics"]["steps"]
    assert "| prm (held-out pool) | pooled |" in capsys.readouterr().out


def test_prm_steps_refuses_a_folder_without_a_prm(runs, tmp_path, capsys):
    assert prm_steps.main([str(tmp_path)]) == 2
    assert "is not a finished" in capsys.readouterr().err


def test_step_metrics_counts_first_errors_and_refuses_ragged_input():
    m = prm_steps.step_metrics([[0.2, 0.9, 0.1], [0.9, 0.9, 0.3], [0.9, 0.9]], [[True, False, False], [True, True, False], [True, True]])
    assert m["first_error"] == {"exact": 0.5, "early": 0.5, "late": 0.0, "missed": 0.0, "solutions": 2}
    assert m["accuracy"] == 6 / 8 and m["constant_accuracy"] == 5 / 8
    with pytest.raises(ValueError):
        prm_steps.step_metrics([[0.5]], [[True, False]])
