"""Self-correction DPO pairs (select.pairs: correction | both): which attempts are revised, how pairs are
formed from revisions (a correct revision over a wrong one, else over the attempt restated), a round on
a tiny random Llama writing revision_*.jsonl, pairs.jsonl and the metrics, resume, and config errors."""

import json
import os

import pytest

from conftest import loop_config
from selftaught.core.errors import ConfigError
from selftaught.core.records import Problem, Sample, Score
from selftaught.inference.self_refine import CORRECTION_PROMPT, VERIFIER_CRITIQUE_PROMPT
from selftaught.loop.correction import Revisions, revision_problems
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir
from selftaught.select import build_correction_pairs


def _scored(pid, texts_verdicts, parent_index=None):
    samples = [Sample(pid, t, 1, index=i) for i, (t, _) in enumerate(texts_verdicts)]
    scores = [Score(s.id, s.text, v, float(v == "correct")) for s, (_, v) in zip(samples, texts_verdicts)]
    return samples, scores


# --- which attempts are revised -------------------------------------------------------------------------

def test_revision_problems_take_the_first_wrong_nonblank_attempt_of_labelled_problems():
    problems = [Problem("a", [{"role": "system", "content": "sys"}, {"role": "user", "content": "2+2?"}], "4"),
                Problem("b", "1+1?", "2"), Problem("c", "3+3?", None), Problem("d", "5+5?", "10")]
    sa, ca = _scored("a", [("4", "correct"), ("  ", "unparsed"), ("Answer: 5", "incorrect"), ("Answer: 6", "incorrect")])
    sb, cb = _scored("b", [("Answer: 2", "correct")])
    sc_, cc = _scored("c", [("Answer: 7", "incorrect")])  # no gold answer: revisions could not be judged
    sd, cd = _scored("d", [("x", "unparsed"), ("Answer: 9", "incorrect")])
    out = revision_problems(problems, sa + sb + sc_ + sd, ca + cb + cc + cd)
    assert [(p.id, a.id) for p, a in out] == [("a#2+revise", "a#2"), ("d#0+revise", "d#0")]
    prompt = out[0][0].prompt
    assert prompt == [{"role": "system", "content": "sys"}, {"role": "user", "content": "2+2?"},
                      {"role": "assistant", "content": "Answer: 5"}, {"role": "user", "content": CORRECTION_PROMPT}]
    assert out[1][0].prompt[0] == {"role": "user", "content": "5+5?"}  # a text prompt becomes a user turn
    assert out[0][0].answer == "4"
    # the feedback is self-refine's verifier feedback, so training and test-time wording agree
    assert CORRECTION_PROMPT.startswith(VERIFIER_CRITIQUE_PROMPT.split(" Check")[0])


# --- pairs from revisions -------------------------------------------------------------------------------

def _revision_setup(verdicts_by_problem):
    problems, attempts, samples, scores = [], [], [], []
    for k, verdicts in enumerate(verdicts_by_problem):
        first = Sample(f"p{k}", f"wrong{k}", 1, index=3)
        rp = Problem(first.id + "+revise", [{"role": "user", "content": f"q{k}"},
                                            {"role": "assistant", "content": first.text},
                                            {"role": "user", "content": CORRECTION_PROMPT}], "ok")
        s, c = _scored(rp.id, [(f"rev{k}-{i}-{v}", v) for i, v in enumerate(verdicts)])
        problems.append(rp)
        attempts.append(first)
        samples += s
        scores += c
    return problems, attempts, samples, scores


def test_correction_pairs_prefer_a_correct_revision_over_a_wrong_one():
    ps, firsts, ss, sc = _revision_setup([["incorrect", "correct", "unparsed", "correct"]])
    pairs = build_correction_pairs(ps, firsts, ss, sc, max_pairs_per_problem=2, with_ids=True)
    assert len(pairs) == 2
    verdict = {c.sample_id: c.verdict for c in sc}
    for p in pairs:
        assert p["prompt"] == ps[0].prompt and p["kind"] == "correction"
        assert verdict[p["chosen_id"]] == "correct" and verdict[p["rejected_id"]] != "correct"
        assert p["chosen"] == [{"role": "assistant", "content": next(s.text for s in ss if s.id == p["chosen_id"])}]
        assert p["problem_id"] == "p0" and p["revised_id"] == "p0#3"
    assert len({p["chosen_id"] for p in pairs}) == 2 and len({p["rejected_id"] for p in pairs}) == 2  # spread


def test_correction_pairs_fall_back_to_the_attempt_restated_and_skip_unsolved():
    ps, firsts, ss, sc = _revision_setup([["correct", "correct"], ["incorrect", "unparsed"], []])
    pairs = build_correction_pairs(ps, firsts, ss, sc, max_pairs_per_problem=3, with_ids=True)
    assert [p["problem_id"] for p in pairs] == ["p0", "p0"]  # p1: no correct revision; p2: no revision at all
    assert all(p["rejected_id"] == p["revised_id"] == "p0#3" for p in pairs)  # both correct revisions used
    assert all(p["rejected"] == [{"role": "assistant", "content": "wrong0"}] for p in pairs)
    assert {p["chosen_id"] for p in pairs} == {s.id for s in ss[:2]}
    plain = build_correction_pairs(ps, firsts, ss, sc)
    assert set(plain[0]) == {"prompt", "chosen", "rejected"}  # without ids: only what the trainer reads


def test_correction_pairs_dedupe_and_check_their_inputs():
    ps, firsts, _, _ = _revision_setup([[]])
    ss = [Sample(ps[0].id, "same", 1, index=0), Sample(ps[0].id, " same ", 1, index=1),
          Sample(ps[0].id, "bad", 1, index=2)]
    sc = [Score(ss[0].id, "1", "correct", 1.0), Score(ss[1].id, "1", "correct", 1.0),
          Score(ss[2].id, "2", "incorrect", 0.0)]
    assert len(build_correction_pairs(ps, firsts, ss, sc, max_pairs_per_problem=4)) == 1
    assert len(build_correction_pairs(ps, firsts, ss, sc, max_pairs_per_problem=4, dedupe=False)) == 2
    with pytest.raises(ConfigError):
        build_correction_pairs(ps, firsts, ss, sc, max_pairs_per_problem=0)
    with pytest.raises(Exception, match="first attempts"):
        build_correction_pairs(ps, [], ss, sc)


def test_revision_metrics():
    ps, firsts, ss, sc = _revision_setup([["correct", "incorrect"], ["incorrect", "incorrect"]])
    m = Revisions(ps, firsts, ss, sc).metrics()
    assert m == {"revised": 2, "revision_w2c": 0.25, "revision_solved": 0.5}
    assert Revisions([], [], [], []).metrics() == {"revised": 0, "revision_w2c": None, "revision_solved": None}


# --- the loop -------------------------------------------------------------------------------------------

def config(tiny_path, *extra):
    return loop_config(tiny_path, "sampling.n=4", "train.method=dpo", "loop.rounds=1", *extra)


def _check_correction_pairs(run: RunDir, index: int, pairs: list[dict]) -> None:
    first_verdict = {s["sample_id"]: s["verdict"] for s in run.read_records(index, "scores.jsonl")}
    rev_verdict = {s["sample_id"]: s["verdict"] for s in run.read_records(index, "revision_scores.jsonl")}
    texts = {s["problem_id"] + "#" + str(s["index"]): s["text"] for s in run.read_records(index, "samples.jsonl")}
    for p in pairs:
        assert first_verdict[p["revised_id"]] != "correct"  # only wrong attempts are revised
        assert rev_verdict[p["chosen_id"]] == "correct"
        assert p["chosen_id"].startswith(p["revised_id"] + "+revise#")
        if p["rejected_id"] == p["revised_id"]:  # every revision was right: the attempt restated
            assert p["rejected"][0]["content"] == texts[p["revised_id"]]
        else:
            assert rev_verdict[p["rejected_id"]] != "correct"
        assert p["prompt"][-2] == {"role": "assistant", "content": texts[p["revised_id"]]}
        assert p["prompt"][-1] == {"role": "user", "content": CORRECTION_PROMPT}


def test_correction_round_writes_revisions_pairs_and_metrics(tiny_path, tmp_path):
    rows = run_loop(config(tiny_path, "select.pairs=correction", "select.pairs_per_problem=2"), str(tmp_path / "r"))
    run = RunDir(tmp_path / "r")
    revisions = run.read_records(1, "revision_samples.jsonl")
    rev_scores = run.read_records(1, "revision_scores.jsonl")
    wrong = {s["sample_id"].split("#")[0] for s in run.read_records(1, "scores.jsonl") if s["verdict"] != "correct"}
    assert {r["problem_id"].split("#")[0] for r in revisions} == wrong  # one revised attempt per such problem
    assert len(revisions) == 4 * len(wrong) and all(r["params"]["temperature"] == 1.0 for r in revisions)
    pairs = run.read_records(1, "pairs.jsonl")
    assert pairs and all(p["kind"] == "correction" for p in pairs)
    _check_correction_pairs(run, 1, pairs)
    m = json.loads(run.path(1, "metrics.json").read_text())
    assert m == rows[1]
    assert m["select/correction_pairs"] == m["select/pairs"] == len(pairs) == m["train/pairs"]
    assert m["select/answer_pairs"] == 0
    assert "select/kept" not in m and m["rollout/balance"] is None  # no round sample is chosen as such
    assert m["select/correction_pairs_restated"] == sum(p["rejected_id"] == p["revised_id"] for p in pairs)
    assert m["select/revised"] == len(wrong)
    assert m["select/revision_w2c"] == pytest.approx(sum(s["verdict"] == "correct" for s in rev_scores) / len(rev_scores))
    assert m["select/problems_without_pair"] == 6 - len({p["problem_id"] for p in pairs})


def test_both_kinds_and_a_killed_round_reuses_the_revisions(tiny_path, tmp_path, monkeypatch):
    from selftaught.loop import correction

    whole = run_loop(config(tiny_path, "select.pairs=both"), str(tmp_path / "a"))
    pairs = RunDir(tmp_path / "a").read_records(1, "pairs.jsonl")
    kinds = [p["kind"] for p in pairs]
    assert kinds.count("answer") == whole[1]["select/answer_pairs"] > 0
    assert kinds.count("correction") == whole[1]["select/correction_pairs"] > 0
    verdict = {s["sample_id"]: s["verdict"] for s in RunDir(tmp_path / "a").read_records(1, "scores.jsonl")}
    assert all(verdict[p["chosen_id"]] == "correct" for p in pairs if p["kind"] == "answer")
    _check_correction_pairs(RunDir(tmp_path / "a"), 1, [p for p in pairs if p["kind"] == "correction"])

    def killed(self, *a, **kw):  # killed after the revisions are written, before pairs.jsonl
        raise KeyboardInterrupt("killed")

    real = correction.Revisions.pairs
    monkeypatch.setattr(correction.Revisions, "pairs", killed)
    with pytest.raises(KeyboardInterrupt):
        run_loop(config(tiny_path, "select.pairs=both"), str(tmp_path / "b"))
    run = RunDir(tmp_path / "b")
    assert run.has(1, "revision_samples.jsonl") and not run.has(1, "pairs.jsonl")
    before = os.stat(run.path(1, "revision_samples.jsonl"))
    monkeypatch.setattr(correction.Revisions, "pairs", real)
    resumed = run_loop(config(tiny_path, "select.pairs=both"), str(tmp_path / "b"))
    after = os.stat(run.path(1, "revision_samples.jsonl"))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # reused, not resampled
    assert run.read_records(1, "pairs.jsonl") == pairs
    keys = ("eval/accuracy", "select/pairs", "select/correction_pairs", "select/revision_w2c", "train/loss")
    assert [[r.get(k) for k in keys] for r in resumed] == [[r.get(k) for k in keys] for r in whole]


# --- config errors --------------------------------------------------------------------------------------

def test_a_bad_pairs_value_is_a_config_error(tiny_path):
    with pytest.raises(ConfigError, match=r"select\.pairs.*'answer', 'correction' or 'both'.*corection"):
        config(tiny_path, "select.pairs=corection")


@pytest.mark.parametrize("extra, message", [
    (["train.method=sft"], "needs train.method dpo"),
    (["select.rule=majority"], "select.rule must be `correct`"),
])
def test_correction_pairs_refuse_what_cannot_work(tiny_path, tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        run_loop(config(tiny_path, "select.pairs=correction", *extra), str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()
