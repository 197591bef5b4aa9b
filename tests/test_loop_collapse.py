"""Answer collapse through the loop: a model that gives one answer to every problem is flagged in the
round's metrics, the console, the round table and report.html; one that answers each problem is not."""

import pytest
from rich.console import Console

from _inference_fakes import ScriptedGenerator
from conftest import loop_config
from loop_task import gold_of
from selftaught.loop import rounds as rounds_mod
from selftaught.loop.rounds import run_loop
from selftaught.report import build_html, load_run, summary_table


def _run(tiny_path, tmp_path, monkeypatch, respond):
    generator = ScriptedGenerator(respond)
    monkeypatch.setattr(rounds_mod.ModelState, "generator", lambda self, *a, **k: generator)
    cfg = loop_config(tiny_path, "task.callable=loop_task:make_mostly_one_task", "loop.rounds=1",
                      "task.n_eval=16", "task.n_train=8", "sampling.n=2")
    console = Console(record=True, width=200)
    rows = run_loop(cfg, str(tmp_path / "run"), console=console)
    run = load_run(tmp_path / "run")
    table = Console(record=True, width=250)
    table.print(summary_table(run, width=250))
    return rows, console.export_text(), table.export_text(), build_html(run)


def test_one_answer_to_every_problem_is_reported_as_collapse(tiny_path, tmp_path, monkeypatch):
    rows, printed, table, html = _run(tiny_path, tmp_path, monkeypatch, lambda *a: "Counting gives 1.\nAnswer: 1")
    for m in rows:
        assert m["eval/accuracy"] == m["eval/const_gold_acc"] == m["eval/const_model_acc"] == 10 / 16
        assert m["eval/collapse"] is True and m["eval/top_answer_share"] == 1.0
    assert rows[1]["rollout/collapse"] is True and rows[1]["rollout/top_answer"] == "1"
    assert printed.count("warning: answer collapse (held-out)") == 2
    assert "warning: answer collapse (training samples)" in printed
    assert "gold-const" in table and "model-const" in table and "62.5 [38.6, 81.5] !" in table
    assert "EVAL+TRAIN" in table and "! round 1: answer collapse (held-out)" in table
    assert 'id="collapse"' in html and "round 0: answer collapse (held-out)" in html


@pytest.mark.parametrize("seed", [0])
def test_answering_each_problem_is_not_collapse(tiny_path, tmp_path, monkeypatch, seed):
    def respond(prompt, pid, j, params):
        return f"Counting gives it.\nAnswer: {gold_of(int(pid.rsplit('-', 1)[1]))}"

    rows, printed, table, html = _run(tiny_path, tmp_path, monkeypatch, respond)
    assert all(m["eval/accuracy"] == 1.0 and m["eval/collapse"] is False for m in rows)
    assert rows[1]["rollout/collapse"] is False
    assert "answer collapse" not in printed and "answer collapse" not in table and 'id="collapse"' not in html
    assert " !" not in table and "gold-const" in table


def _selected_answers(tmp_path):
    import json
    rows = [json.loads(line) for line in (tmp_path / "run" / "rounds" / "001" / "selected.jsonl").open()]
    return [r["messages"][-1]["content"].rsplit("Answer: ", 1)[1] for r in rows], rows


@pytest.mark.parametrize("share", [None, 0.25])
def test_max_answer_share_caps_the_most_common_answer_in_the_training_records(tiny_path, tmp_path, monkeypatch,
                                                                             share):
    """A model right on every problem, where "1" is the gold answer of 5 in 8: rule `correct` keeps every
    problem's record, 5 in 8 of them "1"; under a 0.25 cap "1" keeps only as many records as a quarter of
    the round's records allows, one per problem, and the other answers are all kept."""
    def respond(prompt, pid, j, params):
        return f"Counting gives it {j}.\nAnswer: {gold_of(int(pid.rsplit('-', 1)[1]))}"

    generator = ScriptedGenerator(respond)
    monkeypatch.setattr(rounds_mod.ModelState, "generator", lambda self, *a, **k: generator)
    cfg = loop_config(tiny_path, "task.callable=loop_task:make_mostly_one_task", "loop.rounds=1",
                      "task.n_eval=8", "task.n_train=16", "sampling.n=2", f"select.max_answer_share={'null' if share is None else share}")
    rows = run_loop(cfg, str(tmp_path / "run"), console=Console(record=True))
    answers, records = _selected_answers(tmp_path)
    ones, others = answers.count("1"), [a for a in answers if a != "1"]
    if share is None:
        assert len(answers) == 32 and ones == 20  # 10 problems of 16 have gold "1", two samples each
        assert rows[1]["select/top_answer_share"] == pytest.approx(20 / 32)
    else:
        assert len(others) == 12 and ones == 4  # 4 <= 0.25 x 16, while 5 > 0.25 x 17
        assert len({r["problem_id"] for r in records if r["messages"][-1]["content"].endswith("Answer: 1")}) == 4
        assert rows[1]["select/top_answer_share"] == pytest.approx(4 / 16)


def test_dedupe_across_drops_completions_that_fit_many_problems(tiny_path, tmp_path, monkeypatch):
    """Answer-only completions are the same text for every problem with that answer: only the first stays."""
    def respond(prompt, pid, j, params):
        i = int(pid.rsplit("-", 1)[1])
        return f"Answer: {gold_of(i)}" if j == 0 else f"Counting item {i} gives it.\nAnswer: {gold_of(i)}"

    generator = ScriptedGenerator(respond)
    monkeypatch.setattr(rounds_mod.ModelState, "generator", lambda self, *a, **k: generator)
    cfg = loop_config(tiny_path, "task.callable=loop_task:make_mostly_one_task", "loop.rounds=1",
                      "task.n_eval=8", "task.n_train=16", "sampling.n=2", "select.dedupe_across=true")
    rows = run_loop(cfg, str(tmp_path / "run"), console=Console(record=True))
    _, records = _selected_answers(tmp_path)
    texts = [r["messages"][-1]["content"] for r in records]
    bare = [t for t in texts if t.startswith("Answer: ")]
    assert len(texts) == len(set(texts)) == 16 + len(bare)  # every problem's own text; one of each bare answer
    assert sorted(bare) == sorted({f"Answer: {gold_of(int(r['problem_id'].rsplit('-', 1)[1]))}" for r in records})
    assert "Answer: 1" in bare and rows[1]["select/kept"] == len(texts)
