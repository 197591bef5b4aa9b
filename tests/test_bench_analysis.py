"""The analysis scripts that read `selftaught compare` folders: benchmarks/synthesis_solved.py (problems
failed in every earlier round, solved in the next, counted over the first k samples) and
benchmarks/compare_rounds.py (per-round means of round metrics); and benchmarks/search_seeds.py (seeds of the search
benchmark pooled)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_round(cell: Path, r: int, verdicts: dict[str, list[bool]], metrics: dict | None = None) -> None:
    d = cell / "rounds" / f"{r:03d}"
    d.mkdir(parents=True)
    lines = [json.dumps({"sample_id": f"{pid}#{i}", "verdict": "correct" if ok else "incorrect"})
             for pid, vs in verdicts.items() for i, ok in enumerate(vs)]
    (d / "scores.jsonl").write_text("\n".join(lines) + "\n")
    (d / "metrics.json").write_text(json.dumps({"round": r, **(metrics or {})}))


def test_only_problems_failed_in_every_earlier_round_count_and_only_their_first_k_samples(tmp_path):
    mod = load("synthesis_solved")
    cell = tmp_path / "cells" / "with" / "seed0"
    F, T = False, True
    write_round(cell, 1, {"a": [F, F, F, F, T], "b": [F, F, F, F], "c": [T, F, F, F], "d": [F, F, F, F],
                          "a~syn": [F, F, F, F]})  # a's 5th sample is past k=4: a still counts as failed
    write_round(cell, 2, {"a": [T, F, F, F], "b": [F, F, F, F, T], "c": [F, F, F, F], "d": [F, F, T, T],
                          "x~syn": [T, T, T, T]})
    write_round(cell, 3, {"a": [T, T, F, F], "b": [F, T, F, F], "c": [F, F, F, F], "d": [T, F, F, F]})
    figs = mod.cell_figures(mod.rounds_right(cell, 4))
    assert figs[2] == (3, 2 / 3, (0.25 + 0 + 0.5) / 3)  # a, b, d failed in round 1; a and d solved in round 2
    assert figs[3] == (1, 1.0, 0.25)  # only b failed in rounds 1 and 2 (its 5th right sample is past k)


def test_synthesis_solved_prints_paired_rows_over_seeds(tmp_path, capsys):
    mod = load("synthesis_solved")
    for variant, late in (("without", [False] * 4), ("with", [True, False, False, False])):
        for seed in (0, 1):
            cell = tmp_path / "cells" / variant / f"seed{seed}"
            write_round(cell, 1, {"a": [False] * 4, "b": [False] * 4})
            write_round(cell, 2, {"a": late, "b": [False] * 4 if seed == 0 else late})
    mod.main([str(tmp_path), "--baseline", "without"])
    out = capsys.readouterr().out
    assert "| with | 2 | 2 | 2.0 | 75.0 | 18.8 | 50, 100 |" in out
    assert "round 2, solved: with - without: +75.0" in out


def test_synthesis_solved_refuses_a_folder_without_cells(tmp_path):
    with pytest.raises(SystemExit, match="no cell with two scored rounds"):
        load("synthesis_solved").main([str(tmp_path)])


def test_compare_rounds_averages_each_round_over_its_cells(tmp_path, capsys):
    mod = load("compare_rounds")
    for seed, (acc, p1, p4) in enumerate([(0.2, 0.1, 0.3), (0.4, 0.2, 0.3)]):
        cell = tmp_path / "cells" / "rft" / f"seed{seed}"
        write_round(cell, 1, {}, {"eval/accuracy": acc, "rollout/pass@1": p1, "rollout/pass@2": 0.0,
                                  "rollout/pass@4": p4, "rollout/collapse": True})
    mod.main([str(tmp_path), "--metrics", "eval/accuracy,rollout/pass@k,pass@k/pass@1,rollout/collapse"])
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "| rft | 1 | 2 | 30.0 | 30.0 | 2.25 | - |"  # ratio: mean of 3.0 and 1.5; booleans skipped


def write_search(folder: Path, seed: int, correct: dict[str, list[bool]], prm: str | None = "learned_prm") -> None:
    """A benchmarks/search.py output folder at N=4: summary.json and each strategy's traces."""
    rows = []
    for family, cs in correct.items():
        d = folder / "n4" / family
        d.mkdir(parents=True)
        (d / "traces.jsonl").write_text("".join(json.dumps({"correct": c}) + "\n" for c in cs))
        rows.append({"n_setting": 4, "family": family, "accuracy": sum(cs) / len(cs), "tokens/problem": 60.0,
                     **({"scored_tokens/problem": 50.0} if family != "self_consistency" else {})})
    meta = {"problems": 4, "ns": [4], "beam_width": 4, "seed": seed, **({"prm": prm, "aggregate": "min"} if prm else {})}
    (folder / "summary.json").write_text(json.dumps({"meta": meta, "rows": rows}))


def test_search_seeds_pairs_each_strategy_with_self_consistency(tmp_path, capsys):
    mod = load("search_seeds")
    F, T = False, True
    write_search(tmp_path / "s0", 0, {"self_consistency": [T, F, F, F], "beam_search": [T, T, F, F]})
    write_search(tmp_path / "s1", 1, {"self_consistency": [F, F, F, F], "beam_search": [T, T, T, F]})
    assert mod.main([str(tmp_path / "s0"), str(tmp_path / "s1")]) == 0
    out = capsys.readouterr().out
    assert "2 seeds (0, 1), 4 problems each, step scorer `learned_prm` (aggregate min)" in out
    row = next(line for line in out.splitlines() if line.startswith("| 4 | beam_search |"))
    # accuracy 50 and 75 -> mean 62.5; differences +25 and +75 points -> mean +50 (t interval over 2 seeds)
    assert row.startswith("| 4 | beam_search | 62.5 [") and "| 50.0, 75.0 | 60.0 | 50.0 | +50.0 [" in row
    assert "| 4 | self_consistency | 12.5 [" in out


def test_search_seeds_refuses_mixed_settings_and_repeated_seeds(tmp_path, capsys):
    mod = load("search_seeds")
    write_search(tmp_path / "a", 0, {"self_consistency": [True]})
    write_search(tmp_path / "b", 1, {"self_consistency": [True]}, prm=None)  # an old run: the default scorer
    assert mod.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "differ in `prm`" in capsys.readouterr().err
    write_search(tmp_path / "c", 0, {"self_consistency": [True]})
    assert mod.main([str(tmp_path / "a"), str(tmp_path / "c")]) == 2
    assert "same seed" in capsys.readouterr().err
    assert mod.main([str(tmp_path / "nothing")]) == 2
