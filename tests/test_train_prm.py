"""The PRM / outcome-verifier trainer (train/prm.py, train/verifier.py) and its scorer (scoring/learned.py)."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import CHARS, SPECIAL_TOKENS, make_tiny_tokenizer

from selftaught.core.errors import ConfigError, DataError
from selftaught.core.records import Problem, Sample, Score
from selftaught.scoring import make_scorer
from selftaught.scoring.learned import LearnedVerifier, aggregate, encode_steps, read_verifier
from selftaught.train.prm import IGNORE, VerifierTrainConfig, check_record, collate, encode_record, step_loss
from selftaught.train.verifier import is_trained, outcome_records, train_verifier


def merging_tokenizer():
    """A BPE tokenizer that merges "7" with a following newline into one token "7\\n"."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + CHARS + ["7\n"])}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[("7", "\n")], unk_token="<unk>"))
    backend.add_special_tokens(SPECIAL_TOKENS)
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")


def test_label_sits_on_each_steps_last_token_even_when_the_separator_would_merge():
    tok = merging_tokenizer()
    steps = ["3 + 4 = 7", "7 - 2 = 5", "Answer: 5"]
    text = "q\n" + "\n".join(steps)
    assert "7\n" in [tok.decode([i]) for i in tok.encode(text)]  # tokenizing the whole text would merge
    ids, labels = encode_record(tok, {"prompt": "q", "completions": steps, "labels": [1, 0.5, 0]}, "\n", 512)
    marked = [i for i, lab in enumerate(labels) if lab != IGNORE]
    assert [labels[i] for i in marked] == [1.0, 0.5, 0.0]
    assert [tok.decode([ids[i]]) for i in marked] == ["7", "5", "5"]  # each step's own last character
    assert all(tok.decode([ids[i + 1]]) == "\n" for i in marked)  # followed by a separate separator token


def test_steps_past_max_length_are_dropped_not_mislabelled():
    tok = make_tiny_tokenizer()
    ids, positions = encode_steps(tok, "q", ["aaaa", "bbbb", "cccc"], "\n", max_length=12)
    assert len(positions) == 2 and tok.decode([ids[positions[-1]]]) == "b"


def test_loss_reads_only_the_labelled_positions():
    logits = torch.randn(1, 6, 1)
    labels = torch.full((1, 6), IGNORE)
    labels[0, 2], labels[0, 5] = 1.0, 0.25
    before = step_loss(logits, labels)
    logits2 = logits.clone()
    logits2[0, [0, 1, 3, 4]] += 5.0
    assert torch.allclose(before, step_loss(logits2, labels))
    logits2[0, 5] += 1.0
    assert not torch.allclose(before, step_loss(logits2, labels))


def test_bad_records_are_data_errors():
    check_record({"prompt": "q", "completions": ["a"], "labels": [0.3]})  # soft labels are fine
    with pytest.raises(DataError, match="one label per step"):
        check_record({"prompt": "q", "completions": ["a", "b"], "labels": [1]})
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        check_record({"prompt": "q", "completions": ["a"], "labels": [1.5]})
    with pytest.raises(DataError, match="missing labels"):
        check_record({"prompt": "q", "completions": ["a"]})


def prm_records(n=24):
    """Steps with an `x` are wrong (label 0), steps of `y` right: learnable from the step's own text."""
    out = []
    for i in range(n):
        steps = ["yy", "xx" if i % 2 else "yy", "yy"]
        out.append({"prompt": f"q{i % 3}", "completions": steps, "labels": [1, 0 if i % 2 else 1, 0 if i % 2 else 1]})
    return out


@pytest.fixture(scope="module")
def trained_prm(tiny_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("prm") / "prm"
    cfg = VerifierTrainConfig(epochs=8, learning_rate=3e-3, batch_size=8)
    result = train_verifier(tiny_path, prm_records(), "prm", folder, cfg, separator="\n", seed=0)
    return folder, result


def test_training_reduces_the_loss_and_saves_a_marked_folder(trained_prm):
    folder, result = trained_prm
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < 0.5 * first
    assert is_trained(folder) and read_verifier(folder, "prm")["separator"] == "\n"


def test_prm_ranks_a_solution_with_a_wrong_step_below_a_clean_one(trained_prm):
    folder, _ = trained_prm
    problems = [Problem("p", "q0")] * 2
    samples = [Sample("p", "yy\nyy\nyy", 3, index=0), Sample("p", "yy\nxx\nyy", 3, index=1)]
    prm = LearnedVerifier(folder, aggregation="min")
    steps = prm.step_scores(problems, [s.text.split("\n") for s in samples])
    assert steps[1][1] < 0.5 < steps[0][1]
    for how in ("min", "prod"):
        clean, flawed = make_scorer(f"prm_{how}", prm_path=str(folder))(problems, samples)
        assert clean > flawed


def test_aggregation_and_paths_are_checked_before_a_model_loads(tiny_path, tmp_path, monkeypatch):
    import transformers

    def no_loading(*a, **k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(transformers.AutoModelForTokenClassification, "from_pretrained", no_loading)
    with pytest.raises(ConfigError, match="aggregation `mean`"):
        LearnedVerifier(tmp_path, aggregation="mean")
    with pytest.raises(ConfigError, match="not a process reward model: it has no verifier.json"):
        LearnedVerifier(tiny_path, kind="prm")
    (tmp_path / "verifier.json").write_text(json.dumps({"kind": "outcome"}))
    with pytest.raises(ConfigError, match="not a process reward model"):
        make_scorer("prm", prm_path=str(tmp_path))
    with pytest.raises(ConfigError, match="verifier_path"):
        make_scorer("verifier")
    with pytest.raises(ConfigError, match="aggregation"):
        aggregate([0.5], "mean")


def test_outcome_records_label_the_whole_solution():
    problems = [Problem("p", "1+1?", "2")]
    samples = [Sample("p", "Answer: 2", 3, index=0), Sample("p", "Answer: 3", 3, index=1), Sample("p", " ", 1, index=2)]
    scores = [Score("p#0", "2", "correct", 1.0), Score("p#1", "3", "incorrect", 0.0), Score("p#2", None, "unparsed", 0.0)]
    records = outcome_records(problems, samples, scores)
    assert [(r["completions"], r["labels"]) for r in records] == [(["Answer: 2"], [True]), (["Answer: 3"], [False])]


def test_collate_pads_right_and_keeps_labels_aligned():
    batch = collate([([5, 6, 7], [IGNORE, IGNORE, 1.0]), ([5], [0.0])], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 0, 0]]
    assert batch["labels"][1].tolist() == [0.0, IGNORE, IGNORE]


def test_vstar_dpo_verifier_prefers_the_kind_of_solution_it_was_trained_to_prefer(tiny_path, tmp_path):
    from selftaught.core.config import TrainConfig
    from selftaught.scoring.vstar import DPOVerifier
    from selftaught.train.vstar import solution_pairs, train_dpo_verifier

    problems = [Problem(f"p{i}", f"q{i}", "2") for i in range(6)]
    samples = [Sample(p.id, text, 2, index=j) for p in problems for j, text in enumerate(["22", "99"])]
    scores = [Score(s.id, s.text, "correct" if s.text == "22" else "incorrect", 0.0) for s in samples]
    pairs = solution_pairs(problems, samples, scores)
    assert len(pairs) == 6 and pairs[0]["prompt"] == [{"role": "user", "content": "q0"}]
    cfg = TrainConfig(epochs=3, batch_size=6, learning_rate=1e-2)
    train_dpo_verifier(tiny_path, pairs, tmp_path / "dpo", cfg)
    verifier = DPOVerifier(tmp_path / "dpo")
    good, bad = verifier([problems[0]] * 2, samples[:2])
    assert good > 0.5 > bad
    verifier.model = verifier.ref = None  # a second call on the same (question, solution) reads the cache
    assert verifier([problems[0]] * 2, samples[:2]) == [good, bad]
    with pytest.raises(ConfigError, match="verifier_dpo"):
        LearnedVerifier(tmp_path / "dpo")


def test_best_of_n_and_weighted_vote_pick_by_the_prm(trained_prm):
    from _inference_fakes import ExactTask, ScriptedGenerator

    from selftaught.inference import Context, build_strategy
    from selftaught.inference.base import STRATEGIES

    folder, _ = trained_prm
    texts = ["yy\nxx\nyy", "yy\nyy\nyy", "yy\nxx\nyy"]
    task = ExactTask({"p": "1"})
    ctx = Context(task, ScriptedGenerator(lambda prompt, pid, j, params: texts[j]), scorer_options={"prm_path": str(folder)})
    problems = task.problems("eval", 1, 0)
    for strategy in ("best_of_n", "weighted_vote"):
        cfg = build_strategy(strategy, {"n": 3, "scorer": "prm_min"})
        result = STRATEGIES.get(strategy)[1](cfg, ctx, problems)[0]
        if strategy == "best_of_n":
            assert result.extra["chosen"] == 1 and result.confidence == result.trace[1]["score"]  # bounded: the value
        else:  # the scorer runs inside the vote (answers are all absent here: one group)
            assert result.extra["scorer"] == "prm_min"


def test_eval_set_keys_name_verifier_folders_checked_before_a_model_loads(trained_prm, tmp_path):
    from selftaught.inference.runner import scorer_overrides

    folder, _ = trained_prm
    assert scorer_overrides([f"prm_path={folder}", "n=4"]) == ({"prm_path": str(folder)}, ["n=4"])
    with pytest.raises(ConfigError, match="not an outcome verifier"):
        scorer_overrides([f"verifier_path={tmp_path}"])
    with pytest.raises(ConfigError, match="holds 'prm' verifier"):
        scorer_overrides([f"verifier_path={folder}"])


def test_records_whose_prompt_fills_max_length_are_a_clear_error(tiny_model_and_tokenizer):
    from transformers import LlamaForTokenClassification

    from selftaught.train.prm import train_prm

    model, tok = tiny_model_and_tokenizer
    model.config.num_labels = 1
    head = LlamaForTokenClassification(model.config)
    with pytest.raises(DataError, match="max_length 8"):
        train_prm(head, tok, [{"prompt": "a long question", "completions": ["a"], "labels": [1]}],
                  VerifierTrainConfig(max_length=8), "\n")


def test_prm_best_of_n_reads_the_trained_prm_as_a_step_scorer(trained_prm):
    from _inference_fakes import ExactTask, ScriptedGenerator

    from selftaught.core.errors import ConfigError
    from selftaught.inference import Context, build_strategy
    from selftaught.inference.base import STRATEGIES

    folder, _ = trained_prm
    texts = ["yy\nxx\nyy", "yy\nyy\nyy", "yy\nxx\nyy"]
    task = ExactTask({"p": "1"})
    problems = task.problems("eval", 1, 0)
    cfg = build_strategy("prm_best_of_n", {"n": 3, "prm": "learned_prm", "aggregate": "min"})
    ctx = Context(task, ScriptedGenerator(lambda prompt, pid, j, params: texts[j]), scorer_options={"prm_path": str(folder)})
    result = STRATEGIES.get("prm_best_of_n")[1](cfg, ctx, problems)[0]
    assert result.extra["chosen"] == 1  # the solution without the wrong step `xx`
    bare = Context(task, ScriptedGenerator(lambda prompt, pid, j, params: texts[j]))
    with pytest.raises(ConfigError, match="prm_path"):
        STRATEGIES.get("prm_best_of_n")[1](cfg, bare, problems)
