"""GRPO reward functions with TRL's signature: verifier, format, majority pseudo-labels, self-certainty."""

import pytest
import torch

from selftaught.core.records import Problem, Score
from selftaught.scoring import self_certainty_of_logits
from selftaught.train.rewards import (SelfCertaintyReward, build_rewards, make_format_reward, make_majority_reward,
                                      make_task_reward)


class LastCharTask:
    """The answer is the completion's last character; right when it equals the problem's answer."""

    name, version = "last_char", "1"

    def score(self, problem, completion, sample_id=None):
        text = completion.strip()
        if not text:
            return Score(sample_id or problem.id, None, "unparsed", 0.0)
        ok = problem.answer is not None and text[-1] == problem.answer
        return Score(sample_id or problem.id, text[-1], "correct" if ok else "incorrect", float(ok))


PROBLEMS = {"a": Problem("a", "qa", "5"), "b": Problem("b", "qb", "1"), "c": Problem("c", "qc", None)}


def msg(text):
    return [{"role": "assistant", "content": text}]


def test_task_reward_scores_each_completion_against_its_problem():
    reward = make_task_reward(LastCharTask(), PROBLEMS)
    out = reward(prompts=["qa"] * 2 + ["qb"] * 2, completions=[msg("x5"), msg("x6"), msg("1"), msg("")],
                 problem_id=["a", "a", "b", "b"], trainer_state=None)
    assert out == [1.0, 0.0, 1.0, 0.0]


def test_task_reward_names_an_unknown_problem():
    with pytest.raises(Exception, match="problem_id"):
        make_task_reward(LastCharTask(), PROBLEMS)(prompts=["q"], completions=["1"], problem_id=["zz"])


def test_format_reward_is_one_when_an_answer_line_parses():
    out = make_format_reward()(prompts=["q"] * 3, completions=[msg("so Answer: 7"), msg("\\boxed{3}"), msg("7")])
    assert out == [1.0, 1.0, 0.0]


def test_majority_reward_votes_per_problem_and_logs_label_accuracy():
    logged = []
    reward = make_majority_reward(LastCharTask(), PROBLEMS)
    texts = ["5", "5", "7", "", "2", "2", "1", "3", "9", "9", "8", "9"]
    out = reward(prompts=["q"] * 12, completions=[msg(t) for t in texts], problem_id=["a"] * 4 + ["b"] * 4 + ["c"] * 4,
                 log_metric=lambda k, v: logged.append((k, v)))
    # a: majority 5 (right); b: 2 (wrong: truth 1); c: 9, no truth -> not counted in label accuracy
    assert out == [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1]
    assert logged == [("label_accuracy", 0.5)]


def test_majority_reward_needs_no_answer_key():
    reward = make_majority_reward(LastCharTask(), {"c": PROBLEMS["c"]})
    logged = []
    assert reward(prompts=["q"] * 3, completions=["1", "1", "2"], problem_id=["c"] * 3,
                  log_metric=lambda k, v: logged.append(k)) == [1.0, 1.0, 0.0]
    assert logged == []  # no truth anywhere: no label accuracy


def test_self_certainty_reward_matches_the_hand_computation(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    reward = SelfCertaintyReward(tok, batch_size=2)
    reward.model = model
    prompts = [[{"role": "user", "content": "q1"}], [{"role": "user", "content": "longer q2"}], "plain"]
    completions = [tok("ab", add_special_tokens=False)["input_ids"], tok("xyz", add_special_tokens=False)["input_ids"],
                   tok("k", add_special_tokens=False)["input_ids"]]
    out = reward(prompts=prompts, completions=["ab", "xyz", "k"], completion_ids=completions)
    for value, prompt, ids in zip(out, prompts, completions):
        if isinstance(prompt, str):
            p = tok(prompt, add_special_tokens=False)["input_ids"]
        else:
            p = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
            p = list(p["input_ids"] if hasattr(p, "keys") else p)
        with torch.no_grad():
            logits = model(torch.tensor([p + ids])).logits[0]
        assert value == pytest.approx(self_certainty_of_logits(logits[len(p) - 1:len(p) + len(ids) - 1]), abs=1e-5)


def test_build_rewards_adds_the_weighted_format_reward(tiny_model_and_tokenizer):
    _, tok = tiny_model_and_tokenizer
    funcs, weights, holder = build_rewards("verifier", 0.0, LastCharTask(), list(PROBLEMS.values()), tok)
    assert len(funcs) == 1 and weights == [1.0] and holder is None
    funcs, weights, holder = build_rewards("self_certainty", 0.25, LastCharTask(), [], tok)
    assert weights == [1.0, 0.25] and funcs[0] is holder and funcs[0].__name__ == "self_certainty"


class LastLineTask:
    """The answer is the completion's last line, checked by the JSONL equivalence under `answer_match`."""

    name, version = "last_line", "1"

    def __init__(self, answer_match="auto"):
        self.answer_match = answer_match

    def score(self, problem, completion, sample_id=None):
        from selftaught.tasks import answers_match

        text = completion.strip().splitlines()[-1] if completion.strip() else ""
        if not text:
            return Score(sample_id or problem.id, None, "unparsed", 0.0)
        ok = problem.answer is not None and answers_match(problem.answer, text, self.answer_match)
        return Score(sample_id or problem.id, text, "correct" if ok else "incorrect", float(ok))


def test_majority_reward_votes_up_to_the_tasks_equivalence():
    texts = ["8 legs", "9", "8", "9", "8.0"]  # 8 three times in three spellings, 9 twice
    logged = []
    out = make_majority_reward(LastLineTask(), {"a": Problem("a", "q", "8")})(
        prompts=["q"] * 5, completions=texts, problem_id=["a"] * 5, log_metric=lambda k, v: logged.append(v))
    assert out == [1.0, 0.0, 1.0, 0.0, 1.0] and logged == [1.0]
    exact = make_majority_reward(LastLineTask("exact"), {"a": Problem("a", "q", "8")})
    assert exact(prompts=["q"] * 5, completions=texts, problem_id=["a"] * 5) == [0.0, 1.0, 0.0, 1.0, 0.0]
