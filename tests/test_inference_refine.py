"""Self-refine's stop rules, the verifier-signal mode, gated refinement, and the transition matrix."""

from selftaught.inference import Context, build_strategy
from selftaught.inference.gated_refine import run as run_gated
from selftaught.inference.report import TRANSITIONS, strategy_metrics, transition_matrix
from selftaught.inference.runner import label_results
from selftaught.inference.self_refine import CRITIQUE_PROMPT, REVISE_PROMPT, VERIFIER_CRITIQUE_PROMPT, says_no_error
from selftaught.inference.self_refine import run as run_refine

from _inference_fakes import ExactTask, ScriptedGenerator, last_user


def scripted(first, critique, revisions):
    """first answer per problem; critique text per problem; the r-th revision's answer per problem."""
    log = []

    def respond(prompt, pid, j, params):
        user = last_user(prompt)
        log.append((pid, user))
        if user in (CRITIQUE_PROMPT, VERIFIER_CRITIQUE_PROMPT):
            return critique[pid]
        if user == REVISE_PROMPT:
            r = sum(1 for p, u in log if p == pid and u == REVISE_PROMPT)
            return f"Revised.\nAnswer: {revisions[pid][r - 1]}"
        return f"First try.\nAnswer: {first[pid]}"

    return ScriptedGenerator(respond), log


def refine(task, gen, **options):
    cfg = build_strategy("self_refine", {"rounds": 3, **options})
    return run_refine(cfg, Context(task, gen), task.problems("eval", 10, 0))


def test_stop_when_critique_finds_no_error():
    task = ExactTask({"a": "1"})
    gen, log = scripted({"a": "1"}, {"a": "No error."}, {"a": ["9"]})
    (r,) = refine(task, gen)
    assert r.extra["stop_reason"] == "critique_no_error" and r.answer == "1" and r.extra["rounds"] == 0
    assert [e["step"] for e in r.trace] == ["sample", "critique"]
    assert not any(u == REVISE_PROMPT for _, u in log)


def test_stop_when_the_answer_stops_changing():
    task = ExactTask({"a": "2"})
    gen, _ = scripted({"a": "1"}, {"a": "The answer is wrong."}, {"a": ["2", "2.0", "5"]})
    (r,) = refine(task, gen)
    assert r.extra["stop_reason"] == "answer_unchanged" and r.extra["rounds"] == 2 and r.answer == "2.0"
    steps_ = [(e["step"], e.get("round")) for e in r.trace]
    assert steps_ == [("sample", None), ("critique", 1), ("revision", 1), ("critique", 2), ("revision", 2)]
    assert [e["changed"] for e in r.trace if e["step"] == "revision"] == [True, False]


def test_stop_after_r_rounds_and_token_count():
    task = ExactTask({"a": "0"})
    gen, _ = scripted({"a": "1"}, {"a": "It is wrong."}, {"a": ["2", "3", "4", "5"]})
    (r,) = refine(task, gen)
    assert r.extra["stop_reason"] == "max_rounds" and r.extra["rounds"] == 3 and r.answer == "4"
    assert r.tokens == sum(e["n_tokens"] for e in r.trace)
    assert r.extra["before_answer"] == "1"


def test_verifier_signal_stops_correct_answers_and_tells_wrong_ones():
    task = ExactTask({"right": "1", "wrong": "7"})
    gen, log = scripted({"right": "1", "wrong": "2"}, {"right": "No error.", "wrong": "No error."},
                        {"right": ["9"], "wrong": ["7", "7"]})
    right, wrong = refine(task, gen, verifier_signal=True)
    assert right.extra["stop_reason"] == "verifier_correct" and right.answer == "1"
    assert [e["step"] for e in right.trace] == ["sample", "verifier"]
    # the critique's "No error." does not stop a verified-wrong answer; the revision fixes it,
    # and round 2's verifier check stops it
    assert wrong.answer == "7" and wrong.extra["stop_reason"] == "verifier_correct"
    assert ("wrong", VERIFIER_CRITIQUE_PROMPT) in log and ("wrong", CRITIQUE_PROMPT) not in log


def test_gated_refine_refines_only_low_share_problems():
    task = ExactTask({"sure": "3", "unsure": "4"})
    counter = {}

    def respond(prompt, pid, j, params):
        user = last_user(prompt)
        if user == CRITIQUE_PROMPT:
            return "Wrong."
        if user == REVISE_PROMPT:
            return "Answer: 4"
        i = counter[pid] = counter.get(pid, -1) + 1
        return "Answer: 3" if pid == "sure" else f"Answer: {[1, 2, 1, 5][i % 4]}"

    gen = ScriptedGenerator(respond)
    cfg = build_strategy("gated_refine", {"n": 4, "threshold": 0.6, "rounds": 1})
    sure, unsure = run_gated(cfg, Context(task, gen), task.problems("eval", 2, 0))
    assert not sure.extra["refined"] and sure.answer == "3" and sure.confidence == 1.0
    assert unsure.extra["refined"] and unsure.extra["vote_share_before"] == 0.5
    assert unsure.extra["before_answer"] == "1" and unsure.answer == "4" and unsure.confidence == 0.0
    rows = label_results(task, task.problems("eval", 2, 0), [sure, unsure], "gated_refine")
    m = strategy_metrics(rows)
    assert m["refined"] == 0.5 and m["transitions"]["wrong->correct"] == 1 and m["accuracy"] == 1.0


def test_transition_matrix_counts():
    before = [True, True, True, False, False, False, False]
    after = [True, True, False, True, False, False, False]
    m = transition_matrix(before, after)
    assert [m[k] for k in TRANSITIONS] == [2, 1, 1, 3]
    assert m["p(correct_after|correct_before)"] == 2 / 3 and m["p(correct_after|wrong_before)"] == 1 / 4
    assert transition_matrix([], [])["p(correct_after|wrong_before)"] is None


def test_refine_metrics_include_critique_rates():
    task = ExactTask({"a": "1", "b": "2", "c": "3"})
    gen, _ = scripted({"a": "1", "b": "0", "c": "0"}, {"a": "No error.", "b": "No error.", "c": "This is wrong."},
                      {"a": ["1"], "b": ["2"], "c": ["3", "3"]})
    problems = task.problems("eval", 3, 0)
    results = refine(task, gen)
    m = strategy_metrics(label_results(task, problems, results, "self_refine"))
    assert [m["transitions"][k] for k in TRANSITIONS] == [1, 0, 1, 1]
    assert m["p(no_error|correct)"] == 1.0 and m["p(error|wrong)"] == 0.5
    assert m["stop_reasons"] == {"critique_no_error": 2, "answer_unchanged": 1}


def test_says_no_error_cues():
    assert says_no_error("No errors found.") and says_no_error("Correct.")
    assert not says_no_error("There is an error in step 2.") and not says_no_error("Incorrect: 3 + 4 = 7")
    assert not says_no_error("")


def test_parroted_instruction_after_no_error_still_means_no_error():
    assert says_no_error("No error. Otherwise say briefly what is wrong.")
    task = ExactTask({"a": "1"})
    gen, log = scripted({"a": "1"}, {"a": "No error. Otherwise say briefly what is wrong."}, {"a": ["9"]})
    (r,) = refine(task, gen)
    assert r.extra["stop_reason"] == "critique_no_error" and r.answer == "1"


def test_unparsed_revision_is_dropped_unless_asked_to_keep_it():
    task = ExactTask({"a": "1"})

    def gen_for():
        def respond(prompt, pid, j, params):
            user = last_user(prompt)
            return {CRITIQUE_PROMPT: "Wrong.", REVISE_PROMPT: "I am not sure."}.get(user, "Answer: 1")
        return ScriptedGenerator(respond)

    (r,) = refine(task, gen_for())
    assert r.extra["stop_reason"] == "revision_unparsed" and r.answer == "1" and r.final_text == "Answer: 1"
    assert r.trace[-1]["step"] == "revision" and r.tokens == sum(e["n_tokens"] for e in r.trace)
    (kept,) = refine(task, gen_for(), discard_unparsed=False)
    assert kept.answer is None and kept.extra["stop_reason"] == "answer_unchanged"  # None, then None again
