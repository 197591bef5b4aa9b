"""report.html from a hand-made run directory: self-contained, one image a plot, absent keys skipped."""

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from selftaught.cli.report_cmd import report
from selftaught.core.errors import SelftaughtError
from selftaught.report import load_run, summary_table, write_report
from selftaught.report.plots import PLOTS, render

CONFIG = """name: fake
model: default
task:
  name: basic_arithmetic
  options: {min_terms: 2, max_terms: 2}
sampling: {n: 4, temperature: 0.7}
loop: {rounds: 2, kind: bstar}
"""

ALWAYS = {"accuracy", "passk", "diversity", "cost", "loss", "answers"}  # drawn from a plain RFT run
BSTAR = {"balance", "exploitation", "control", "grid"}  # only when the controller's keys are there
CURRICULUM = {"levels", "arm_accuracy", "bandit"}  # only with a curriculum's keys (levels, per-arm accuracy)


def round_metrics(r: int, full: bool) -> dict:
    acc = 0.13 + 0.05 * r
    m = {"round": r, "eval/accuracy": acc, "eval/accuracy_low": acc - 0.05, "eval/accuracy_high": acc + 0.06,
         "eval/n": 128, "eval/unparsed_rate": 0.2 - 0.05 * r, "eval/completion_length": 30.0 - r,
         "time/eval": 5.0, "time/round": 5.5 + 21 * (r > 0), "settings": {"temperature": 0.7, "n": 4}}
    if r == 0:
        return m
    m.update({"rollout/pass@1": 0.2 + 0.05 * r, "rollout/pass@1_low": 0.15, "rollout/pass@1_high": 0.3,
              "rollout/pass@4": 0.4 + 0.05 * r, "rollout/maj@4": 0.25, "rollout/mean@4": 0.2,
              "rollout/unparsed_rate": 0.1, "rollout/truncated_rate": 0.02,
              "rollout/distinct_answers": 2.5 - 0.3 * r, "rollout/distinct_correct": 1.2 - 0.1 * r,
              "rollout/distinct_4gram": 0.6 - 0.05 * r, "rollout/entropy": None,
              "rollout/completion_length": 28.0, "rollout/tokens": 9000, "train/tokens": 15000,
              "train/loss": 0.5, "train/loss_curve": [1.0 / (i + 1) + 0.1 * r for i in range(12)],
              "train/seconds": 8.0, "select/kept": 40 + r, "time/sample": 7.0})
    if full:
        temps = [0.4, 0.7, 1.0, 1.3]
        m.update({"rollout/balance": 0.3 + 0.02 * r, "probe/balance": 0.28, "probe/pass@1": 0.2,
                  "rollout/entropy": 0.9 - 0.1 * r, "select/precision": 0.8, "select/recall": 0.6,
                  "select/auroc": 0.7, "exploit/auroc_logprob": 0.62, "exploit/auroc_self_certainty": None,
                  "control/temperature": temps[r], "control/threshold": 0.5,
                  "control/grid": [{"temperature": t, "threshold": th, "balance": 0.1 * i + th / 10}
                                   for i, t in enumerate(temps) for th in (0.3, 0.5)],
                  "time/probe": 3.0, "probe/tokens": 2000,
                  "curriculum/q/t@L0": 0.1 * r, "curriculum/q/t@L1": 0.2, "curriculum/chosen/t@L0": 3,
                  "curriculum/chosen/t@L1": 5, "rollout/arm/t@L0/accuracy": 0.9, "rollout/arm/t@L1/accuracy": 0.4})
    if full:
        m.update({"eval/arm/t@L0/accuracy": 0.8, "eval/arm/t@L1/accuracy": 0.3 + 0.1 * r, "eval/highest_level_50": 0})
    return m


def make_run(root, full: bool, rounds: int = 3):
    root.mkdir(parents=True)
    (root / "config.yaml").write_text(CONFIG)
    for r in range(rounds):
        d = root / "rounds" / f"{r:03d}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(round_metrics(r, full)))
        samples = [{"problem_id": f"p{i}", "index": 0, "id": f"p{i}#0", "n_tokens": 12,
                    "text": f"{i} + 3 = {i + 3}\nAnswer: {i + 3 - (i == 1)} <b>"} for i in range(5)]
        verdicts = ["correct", "incorrect", "unparsed", "correct", "correct"]
        scores = [{"sample_id": s["id"], "extracted": None if v == "unparsed" else str(i + 3), "verdict": v,
                   "reward": float(v == "correct")} for i, (s, v) in enumerate(zip(samples, verdicts))]
        (d / "eval_samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
        (d / "eval_scores.jsonl").write_text("".join(json.dumps(s) + "\n" for s in scores))
    return root


def plot_ids(html: str) -> set[str]:
    return set(re.findall(r'<section id="plot-([\w-]+)"><h2>[^<]*</h2><p class="caption">[^<]*</p><img ', html))


def assert_self_contained(html: str) -> None:
    refs = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', html)
    assert refs, "no images at all"
    bad = [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]
    assert not bad, f"external references: {bad}"
    assert "<link" not in html and "<script" not in html and "url(" not in html


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """report.html of a B-STaR-like run (every key) and of a plain RFT run, made once for the module."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for kind in ("full", "plain"):
        run_dir = make_run(root / kind, full=kind == "full")
        path = write_report(run_dir)
        assert path == run_dir / "report.html" and path.is_file()
        out[kind] = path.read_text()
    return out


def test_full_run_draws_every_plot(reports):
    html = reports["full"]
    assert_self_contained(html)
    assert plot_ids(html) == ALWAYS | BSTAR | CURRICULUM == {p.id for p in PLOTS}
    assert html.count("<img ") == len(PLOTS)
    assert "could not draw" not in html and "Not drawn" not in html
    assert "fake" in html and "basic_arithmetic" in html and "<details><summary>config.yaml" in html
    assert html.count('class="verdict ') == 3 and "&lt;b&gt;" in html  # 3 samples, text escaped


def test_plain_run_skips_missing_keys_with_a_note(reports):
    html = reports["plain"]
    assert_self_contained(html)
    assert plot_ids(html) == ALWAYS
    notes = html.split("<h2>Not drawn</h2>")[1]
    for title in ("Balance score", "Exploitation", "Temperature and threshold", "Controller grid"):
        assert title in notes
    assert "<code>control/grid</code>" in notes and "temperature 0.7" in notes
    assert "could not draw" not in html


def test_round_zero_only_and_metrics_jsonl_fallback(tmp_path):
    root = tmp_path / "run"
    root.mkdir()
    (root / "metrics.jsonl").write_text(json.dumps(round_metrics(0, False)) + "\n")
    html = write_report(root).read_text()
    assert plot_ids(html) == {"accuracy", "cost", "answers"}
    assert "No eval_samples.jsonl" in html and "could not draw" not in html


def test_malformed_metric_costs_one_plot_not_the_report(tmp_path):
    m = round_metrics(1, True)
    m["control/grid"] = 5  # not a list of grid points
    (tmp_path / "metrics.jsonl").write_text(json.dumps(m) + "\n")
    notes = dict((p.id, out) for p, out in render(load_run(tmp_path)))
    assert notes["grid"].startswith("could not draw this plot: TypeError")
    assert isinstance(notes["accuracy"], bytes) and notes["accuracy"].startswith(b"\x89PNG")


def test_summary_columns_follow_the_keys(tmp_path):
    full = summary_table(load_run(make_run(tmp_path / "a", full=True)))
    plain = summary_table(load_run(make_run(tmp_path / "b", full=False)))
    heads = lambda t: [c.header for c in t.columns]  # noqa: E731
    assert {"bal", "prec", "T", "thr", "pass@4", "maj@4"} <= set(heads(full))
    assert "bal" not in heads(plain) and "thr" not in heads(plain) and "T" in heads(plain)
    assert full.row_count == 3
    narrow = summary_table(load_run(tmp_path / "a"), width=80)
    assert heads(narrow)[:3] == ["round", "held-out % [CI]", "pass@1"] and len(heads(narrow)) < len(heads(full))
    assert "more columns in report.html" in str(narrow.caption)


def test_missing_or_empty_run_dir_is_a_user_error(tmp_path):
    with pytest.raises(SelftaughtError, match="no such run directory"):
        write_report(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SelftaughtError, match="no finished round"):
        write_report(tmp_path / "empty")


def test_cli_report(tmp_path):
    app = typer.Typer()
    app.command()(report)
    runner = CliRunner()
    missing = runner.invoke(app, [str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such run directory" in missing.output
    ok = runner.invoke(app, [str(make_run(tmp_path / "run", full=False, rounds=1))])
    assert ok.exit_code == 0, ok.output
    assert "report.html" in ok.output and (tmp_path / "run" / "report.html").is_file()
