"""Extensions as one file each: a user's strategy, selection rule and scorer from one temporary module,
named `module:object` in a config and run; names checked against the registries when a config loads;
a module dropped into a registry's package is found with no edit elsewhere."""

from __future__ import annotations

import sys
import textwrap

import pytest

from conftest import loop_config
from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.loop.rounds import run_loop
from selftaught.loop.rundir import RunDir

from _inference_fakes import ExactTask, ScriptedGenerator

TOY = '''
"""A user's own extensions, none of them registered anywhere: named `toy_ext:object` from a recipe."""
from pydantic import Field

from selftaught.inference.base import StrategyConfig, StrategyResult
from selftaught.select.records import Selected


class LongestConfig(StrategyConfig):
    n: int = Field(3, ge=1)


def run_longest(cfg, ctx, problems):
    """Sample n, answer with the longest completion."""
    groups = ctx.pool(1.0, 1.0, cfg.max_new_tokens).take(problems, cfg.n)
    out = []
    for problem, samples in zip(problems, groups):
        best = max(samples, key=lambda s: len(s.text))
        out.append(StrategyResult(problem.id, best.text.split()[-1], None, best.text,
                                  tokens=sum(s.n_tokens for s in samples)))
    return out


LONGEST = (LongestConfig, run_longest)


def length(problems, samples):
    """Scorer: the completion's length (unbounded)."""
    return [float(len(s.text)) for s in samples]


def make_first(seed=0, dedupe=True):
    """Selection rule: the first sample of every problem, right or wrong."""
    def first(problems, samples, scores):
        seen, out = set(), []
        for s in samples:
            if s.problem_id not in seen:
                seen.add(s.problem_id)
                prompt = next(p.prompt for p in problems if p.id == s.problem_id)
                out.append(Selected(s.problem_id, s.id, prompt, s.text, rule="first"))
        return out
    return first
'''


@pytest.fixture
def toy_ext(tmp_path, monkeypatch):
    (tmp_path / "toy_ext.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "toy_ext"
    sys.modules.pop("toy_ext", None)


def scripted():
    texts = {0: "Answer: 7", 1: "so the Answer: 12", 2: "Answer: 3"}
    return ScriptedGenerator(lambda prompt, pid, j, params: texts[j % 3])


def test_a_user_strategy_and_scorer_run_from_a_config(toy_ext, tmp_path):
    from selftaught.inference.runner import eval_main

    task_cfg = {"path": str(tmp_path / "qa.jsonl"), "few_shot": 0}
    (tmp_path / "qa.jsonl").write_text("".join(f'{{"question": "q{i}", "answer": "12"}}\n' for i in range(20)))
    metrics = eval_main(task_cfg, "unused", ["toy_ext:LONGEST", "best_of_n"],
                        ["toy_ext:LONGEST.n=3", "best_of_n.scorer=toy_ext:length", "best_of_n.n=3"],
                        tmp_path / "out", n_problems=2, generator=scripted())
    by_label = {m["label"]: m for m in metrics}
    assert set(by_label) == {"toy_ext:LONGEST", "best_of_n"}
    assert by_label["toy_ext:LONGEST"]["accuracy"] == 1.0  # the longest text answers 12, the gold answer
    assert by_label["best_of_n"]["accuracy"] == 1.0  # the length scorer's argmax is the same sample
    assert by_label["best_of_n"]["config"]["scorer"] == "toy_ext:length"


def test_a_user_scorer_through_evaluate_strategy(toy_ext, tmp_path):
    from selftaught.inference import build_strategy
    from selftaught.inference.runner import evaluate_strategy

    task = ExactTask({"p1": "7", "p2": "7"})
    cfg = build_strategy("best_of_n", {"scorer": "toy_ext:length", "n": 3})
    m = evaluate_strategy(task, scripted(), task.problems("eval", 2, 0), cfg, tmp_path)
    assert m["accuracy"] == 0.0  # the longest sample answers 12; gold is 7
    with pytest.raises(ConfigError, match="has no `lenght`"):
        build_strategy("best_of_n", {"scorer": "toy_ext:lenght"})


def test_a_user_selection_rule_runs_through_the_loop(toy_ext, tiny_path, tmp_path):
    cfg = loop_config(tiny_path, "select.rule=toy_ext:make_first", "loop.rounds=1")
    rows = run_loop(cfg, str(tmp_path / "run"))
    kept = RunDir(tmp_path / "run").read_records(1, "selected.jsonl")
    assert len(kept) == cfg.task.n_train  # one record per problem, right or wrong
    assert all(r["rule"] == "first" and r["sample_id"].endswith("#0") for r in kept)
    assert rows[1]["select/kept"] == cfg.task.n_train


def test_unknown_names_fail_at_load_with_did_you_mean_all_at_once(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("task: {name: basic_arithmetic}\nbackend: hff\nselect: {rule: corect}\n"
                      "train: {method: sftt, grpo: {reward: verifer}}\n")
    with pytest.raises(ConfigError) as e:
        load_config(recipe)
    msg = str(e.value)
    for key, near in (("backend", "hf"), ("select.rule", "correct"), ("train.method", "sft"),
                      ("train.grpo.reward", "verifier")):
        assert f"`{key}`: unknown" in msg and f"did you mean `{near}`?" in msg, key


def test_select_options_reach_a_user_rule_and_a_typo_fails_at_load(toy_ext):
    from selftaught.select import rule_options

    base = ["task.name=basic_arithmetic", "select.rule=toy_ext:make_first"]
    cfg = load_config(None, [*base, "select.options={seed: 5}"])
    assert rule_options(cfg.select, seed=1) == {"dedupe": True, "seed": 5}
    with pytest.raises(ConfigError, match="has no option `dedup` \\(did you mean `dedupe`\\?\\)"):
        load_config(None, [*base, "select.options={dedup: 1}"])


def test_a_module_object_that_does_not_import_fails_at_load():
    with pytest.raises(ConfigError, match="select.rule.*cannot import module `no_such_module`"):
        load_config(None, ["task.name=basic_arithmetic", "select.rule=no_such_module:make"])


def test_old_flat_train_keys_name_their_new_place():
    with pytest.raises(ConfigError) as e:
        load_config(None, ["task.name=basic_arithmetic", "train.dpo_beta=0.2", "train.reward=majority"])
    assert "`train.dpo_beta` moved: write `train.dpo.beta`" in str(e.value)
    assert "`train.reward` moved: write `train.grpo.reward`" in str(e.value)
    cfg = load_config(None, ["task.name=basic_arithmetic", "train.dpo.beta=0.2", "train.grpo.reward=majority"])
    assert cfg.train.dpo.beta == 0.2 and cfg.train.grpo.reward == "majority"


def test_a_module_dropped_into_a_registry_package_is_found(tmp_path, monkeypatch):
    pkg = tmp_path / "toy_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from selftaught.core.registry import Registry\n"
                                     "THINGS = Registry('thing', package='toy_pkg')\n")
    for name in ("alpha", "beta"):
        (pkg / f"{name}.py").write_text(textwrap.dedent(f"""
            from toy_pkg import THINGS

            def {name}():
                return "{name}"

            THINGS.register("{name}", {name})
            """))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import toy_pkg

        assert "toy_pkg.beta" not in sys.modules  # nothing imported it yet
        assert toy_pkg.THINGS.names() == ["alpha", "beta"]
        assert toy_pkg.THINGS.get("beta")() == "beta"
    finally:
        for mod in ("toy_pkg", "toy_pkg.alpha", "toy_pkg.beta"):
            sys.modules.pop(mod, None)


def test_every_builtin_extension_is_registered():
    from selftaught.inference import STRATEGIES
    from selftaught.models import BACKENDS
    from selftaught.scoring import SCORERS
    from selftaught.select import SELECTION_RULES
    from selftaught.tasks import TASK_KINDS
    from selftaught.train import REWARDS, TRAINERS

    assert {"greedy", "self_consistency", "best_of_n", "adaptive_consistency"} <= set(STRATEGIES)
    assert set(SELECTION_RULES) == {"correct", "judge", "majority", "threshold", "prm_filter"}
    assert set(SCORERS) == {"judge", "logprob", "oracle", "self_certainty", "self_certainty_borda", "verifier", "judge_pairwise", "judge_rationale",
                            "verifier_dpo", "prm", "prm_min", "prm_prod", "prm_last"}
    assert set(TASK_KINDS) == {"name", "path", "callable", "mixture"}
    from selftaught.curriculum import CURRICULA

    assert {"fixed", "threshold", "bandit"} <= set(CURRICULA)
    assert set(BACKENDS) >= {"hf", "fast", "openai", "vllm"} and "vllm" not in sys.modules
    assert set(TRAINERS) == {"sft", "dpo", "grpo"} and set(REWARDS) == {"verifier", "majority", "self_certainty"}
    assert [SCORERS.get(n).bounded for n in ("oracle", "logprob", "judge", "self_certainty")] == [True] * 3 + [False]
