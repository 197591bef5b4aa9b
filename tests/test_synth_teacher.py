"""Teacher variants for sources without a generator (JSONL), against a local fake OpenAI-compatible server:
the agreement check (votes grouped by answer equivalence, and the written answer must agree), the loop
path on a JSONL task, and a rerun that reuses the recorded variants without asking the teacher again."""

import json
import re

import pytest
from conftest import loop_config
from test_openai_backend import serve  # noqa: F401  (the fake-server fixture)

from selftaught.core.config import load_config
from selftaught.curriculum.teacher import teacher_variants
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir
from selftaught.models.openai_backend import OpenAIGenerator

VARIANTS = {"What is 2 + 3?": "Problem: What is 4 + 4?\nAnswer: 8",
            "What is 10 - 1?": "Problem: What is 7 - 2?\nAnswer: 5",
            "What is 6 * 2?": "Sorry, I will not."}
SOLUTIONS = {"What is 4 + 4?": ["Answer: 8", "Answer: 8.0", "So it is 9.\nAnswer: 9", "Answer: 8"],
             "What is 7 - 2?": ["Answer: 4"] * 4}


def reply_from(variant, solve):
    def reply(path, body, count):
        content = body["messages"][-1]["content"]
        if "Write one new problem" in content:
            question = re.search(r"Problem: (.*)\n", content).group(1)
            texts = [variant(question, i) for i in range(body.get("n", 1))]
        else:
            question = content.split("Problem: ", 1)[1]
            texts = solve(question, body.get("n", 1))
        return 200, {"choices": [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                                 for i, t in enumerate(texts)], "usage": {"completion_tokens": 3}}, 0, {}
    return reply


def opts(**kw):
    return load_config(None, ["task.name=basic_arithmetic", "synthesis.teacher.enabled=true",
                              "synthesis.teacher.model=teacher", *(f"synthesis.teacher.{k}={v}" for k, v in kw.items())]
                       ).synthesis.teacher


def row(pid, question, answer):
    return {"id": pid, "arm": "qa", "answer": answer, "meta": {"question": question}}


def test_variants_kept_only_when_the_votes_agree_with_the_written_answer(serve):
    srv = serve(reply_from(lambda q, i: VARIANTS[q], lambda q, n: SOLUTIONS[q][:n]))
    teacher = OpenAIGenerator([srv.url], "teacher", max_retries=0)
    rows = [(row("p1", "What is 2 + 3?", "5"), 1), (row("p2", "What is 10 - 1?", "9"), 1),
            (row("p3", "What is 6 * 2?", "12"), 1)]
    out = teacher_variants(teacher, rows, opts(n_votes=4, agreement=0.75), "auto", (1, 2))
    by = {v["from"]: v for v in out}
    assert by["p1"]["kept"] and by["p1"]["share"] == 0.75 and by["p1"]["answer"] == "8"  # 8 and 8.0 agree
    assert by["p1"]["votes"] == ["8", "8.0", "9", "8"]
    assert not by["p2"]["kept"] and by["p2"]["reason"] == "disagrees"  # the teacher's solutions say 4, it wrote 5
    assert not by["p3"]["kept"] and by["p3"]["reason"] == "unparsed" and by["p3"]["votes"] == []
    strict = teacher_variants(teacher, rows[:1], opts(n_votes=4, agreement=1.0), "auto", (1, 2))
    assert not strict[0]["kept"] and strict[0]["reason"] == "no agreement"
    assert all(b["model"] == "teacher" for _, b, _ in srv.requests)


def sum_variant(question, i):
    a, b = map(int, re.findall(r"\d+", question))
    return f"Problem: What is {a + 100 + i} + {b}?\nAnswer: {a + 100 + i + b}"


def sum_solutions(question, n):
    a, b = map(int, re.findall(r"\d+", question))
    return [f"Answer: {a + b}"] * n


@pytest.fixture
def qa_file(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps({"question": f"What is {i} + {i * 3}?", "answer": str(4 * i)}) + "\n"
                            for i in range(40)))
    return path


def test_loop_trains_on_teacher_variants_and_reuses_them_on_rerun(serve, tiny_path, tmp_path, qa_file, monkeypatch):
    srv = serve(reply_from(sum_variant, sum_solutions))
    sets = ["task.callable=null", f"task.path={qa_file}", "task.few_shot=1", "loop.rounds=1", "task.n_train=6",
            "synthesis.enabled=true", "synthesis.n_problems=4", "synthesis.band=[0.0, 1.0]",
            "synthesis.teacher.enabled=true", "synthesis.teacher.model=teacher",
            f"synthesis.teacher.base_urls=[{srv.url}]", "synthesis.teacher.n_votes=3"]
    import selftaught.curriculum.teacher as teacher_mod

    def crash(*a, **k):
        raise KeyboardInterrupt("killed after the teacher's variants were recorded")

    monkeypatch.setattr(teacher_mod, "variant_problems", crash)
    with pytest.raises(KeyboardInterrupt):
        run_loop(loop_config(tiny_path, *sets), str(tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    variants = run.read_records(1, "synth_teacher.jsonl")
    assert len(variants) == 8 and all(v["kept"] and v["share"] == 1.0 for v in variants)  # 4 x candidates 2.0
    asked = len(srv.requests)
    monkeypatch.undo()
    rows = run_loop(loop_config(tiny_path, *sets), str(tmp_path / "run"))
    assert len(srv.requests) == asked  # the recorded variants were reused: the teacher was not asked again
    kept = run.read_records(1, "synth.jsonl")
    assert rows[1]["synth/kept"] == len(kept) == 4 and rows[1]["synth/candidates"] == 8
    for p in kept:
        v = next(v for v in variants if v["question"] == p["meta"]["question"])
        assert p["answer"] == v["answer"] and p["meta"]["arm"] == "qa" and p["meta"]["synth"]["from"] == v["from"]
        assert len(p["prompt"]) == 4 and p["prompt"][-1]["content"] == v["question"]  # system, shot, answer, question
    samples = {x["problem_id"] for x in run.read_records(1, "synth_samples.jsonl")}
    assert {p["id"] for p in kept} <= samples
