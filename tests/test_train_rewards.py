"""GRPO reward functions (the scorer family's signature) through the TRL adapter: verifier, format, majority
pseudo-labels, self-certainty, a user's own reward named `module:object`."""

import pytest
import torch

from selftaught.core.records import Problem, Sample, Score
from selftaught.scoring import self_certainty_of_logits
from selftaught.train.rewards import (SelfCertaintyReward, build_rewards, make_format_reward, make_majority_reward,
                                      make_task_reward, trl_reward)


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
    reward = trl_reward(make_task_reward(LastCharTask()), PROBLEMS)
    out = reward(prompts=["qa"] * 2 + ["qb"] * 2, completions=[msg("x5"), msg("x6"), msg("1"), msg("")],
                 problem_id=["a", "a", "b", "b"], trainer_state=None)
    assert out == [1.0, 0.0, 1.0, 0.0]


def test_task_reward_names_an_unknown_problem():
    with pytest.raises(Exception, match="problem_id"):
        trl_reward(make_task_reward(LastCharTask()), PROBLEMS)(prompts=["q"], completions=["1"], problem_id=["zz"])


def test_format_reward_is_one_when_an_answer_line_parses():
    out = trl_reward(make_format_reward(), PROBLEMS)(prompts=["q"] * 3, problem_id=["a"] * 3,
                                                     completions=[msg("so Answer: 7"), msg("\\boxed{3}"), msg("7")])
    assert out == [1.0, 1.0, 0.0]


def test_majority_reward_votes_per_problem_and_logs_label_accuracy():
    logged = []
    reward = trl_reward(make_majority_reward(LastCharTask()), PROBLEMS)
    texts = ["5", "5", "7", "", "2", "2", "1", "3", "9", "9", "8", "9"]
    out = reward(prompts=["q"] * 12, completions=[msg(t) for t in texts], problem_id=["a"] * 4 + ["b"] * 4 + ["c"] * 4,
                 log_metric=lambda k, v: logged.append((k, v)))
    # a: majority 5 (right); b: 2 (wrong: truth 1); c: 9, no truth -> not counted in label accuracy
    assert out == [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1]
    assert logged == [("label_accuracy", 0.5)]


def test_majority_reward_needs_no_answer_key():
    reward = trl_reward(make_majority_reward(LastCharTask()), {"c": PROBLEMS["c"]})
    logged = []
    assert reward(prompts=["q"] * 3, completions=["1", "1", "2"], problem_id=["c"] * 3,
                  log_metric=lambda k, v: logged.append(k)) == [1.0, 1.0, 0.0]
    assert logged == []  # no truth anywhere: no label accuracy


def test_self_certainty_reward_matches_the_hand_computation(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    holder = SelfCertaintyReward(tok, batch_size=2)
    holder.model = model
    prompts = [[{"role": "user", "content": "q1"}], [{"role": "user", "content": "longer q2"}], "plain"]
    problems = {f"p{i}": Problem(f"p{i}", p) for i, p in enumerate(prompts)}
    reward = trl_reward(holder, problems)
    completions = [tok("ab", add_special_tokens=False)["input_ids"], tok("xyz", add_special_tokens=False)["input_ids"],
                   tok("k", add_special_tokens=False)["input_ids"]]
    out = reward(prompts=prompts, completions=["ab", "xyz", "k"], completion_ids=completions, problem_id=list(problems))
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
    assert weights == [1.0, 0.25] and isinstance(holder, SelfCertaintyReward)
    assert [f.__name__ for f in funcs] == ["self_certainty", "answer_format"]  # TRL logs rewards/NAME/mean


def test_a_user_reward_function_is_named_module_object(tmp_path, monkeypatch, tiny_model_and_tokenizer):
    (tmp_path / "my_rewards.py").write_text(
        "def shorter(problems, samples):\n    return [1.0 / (1 + len(s.text)) for s in samples]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    funcs, weights, holder = build_rewards("my_rewards:shorter", 0.0, LastCharTask(), list(PROBLEMS.values()),
                                           tiny_model_and_tokenizer[1])
    assert funcs[0](prompts=["q"] * 2, completions=["x", "xyz"], problem_id=["a", "b"]) == [0.5, 0.25]
    assert funcs[0].__name__ == "shorter" and holder is None


class LastLineTask:
    """The answer is the completion's last line, checked by the JSONL equivalence under `answer_match`."""

    name, version = "last_line", "1"

    def __init__(self, answer_match="auto"):
        self.answer_match = answer_match

    def score(self, problem, completion):
        from selftaught.tasks import answers_match

        text = completion.strip().splitlines()[-1] if completion.strip() else ""
        if not text:
            return Score(problem.id, None, "unparsed", 0.0)
        ok = problem.answer is not None and answers_match(problem.answer, text, self.answer_match)
        return Score(problem.id, text, "correct" if ok else "incorrect", float(ok))


def test_majority_reward_votes_up_to_the_tasks_equivalence():
    texts = ["8 legs", "9", "8", "9", "8.0"]  # 8 three times in three spellings, 9 twice
    problems, samples = [Problem("a", "q", "8")] * 5, [Sample("a", t, 1) for t in texts]
    reward = make_majority_reward(LastLineTask())
    assert reward(problems, samples) == [1.0, 0.0, 1.0, 0.0, 1.0] and reward.metrics == {"label_accuracy": 1.0}
    assert make_majority_reward(LastLineTask("exact"))(problems, samples) == [0.0, 1.0, 0.0, 1.0, 0.0]
