"""The loop's step-label stage (loop/step_labels.py): a PRM run writes rounds/NNN/step_labels.jsonl and
trains its PRM on it with no manual step, the records are scoring.mc_labels' for the drawn attempts, a
rerun reads the file back, and a task without step labels is refused before a model loads."""

from __future__ import annotations

import pytest
from _inference_fakes import ScriptedGenerator
from conftest import loop_config
from loop_task import SUM_RIGHT, SUM_SLIP, make_sum_task

from selftaught.core.errors import ConfigError
from selftaught.core.io import read_jsonl
from selftaught.core.records import Sample, from_dict
from selftaught.core.seeds import seed_for
from selftaught.loop.rounds import run_loop
from selftaught.loop.state import ModelState
from selftaught.scoring.mc_labels import MCSettings, mc_step_labels

PRM = ["verifier.kinds=[prm]", "verifier.epochs=1", "verifier.batch_size=8", "verifier.learning_rate=1e-3",
       "loop.rounds=1", "loop.keep_checkpoints=all"]


def sum_model(prompt, pid, j, params):
    """Attempts: even draws right, odd draws slip at step 2. Continuations: right from a prefix without the
    slip on odd draws, wrong otherwise (so k=4 labels every step as its exact truth)."""
    if prompt[-1]["role"] != "assistant":
        return SUM_RIGHT if j % 2 == 0 else SUM_SLIP
    return "Answer: 0" if "= -3" in prompt[-1]["content"] or j % 2 == 0 else "Answer: 4"


@pytest.fixture
def scripted(monkeypatch):
    """Every generation of the loop goes to a scripted model; returns it (its calls) and the rounds asked for."""
    gen, rounds = ScriptedGenerator(sum_model), []

    def generator(self, index, batch_size=None, matmul_dtype="model"):
        rounds.append((len(gen.calls), index))  # (the generate call it serves, the round whose model)
        return gen

    monkeypatch.setattr(ModelState, "generator", generator)
    return gen, rounds


def continuations(gen: ScriptedGenerator) -> list[dict]:
    """The generate calls that continue step prefixes (their prompts end with the model's own turn)."""
    return [c for c in gen.calls if c["prompts"] and c["prompts"][0][-1]["role"] == "assistant"]


def test_prm_run_labels_a_balanced_draw_and_trains_the_prm_on_it(tiny_path, tmp_path, scripted):
    gen, rounds = scripted
    cfg = loop_config(tiny_path, "task.callable=loop_task:make_sum_task", "sampling.n=2", "verifier.label_samples=4",
                      "verifier.label_k=4", *PRM)
    metrics = run_loop(cfg, str(tmp_path / "run"))[1]
    r1 = tmp_path / "run" / "rounds" / "001"
    records = read_jsonl(r1 / "step_labels.jsonl")
    assert [r["verdict"] for r in records].count("correct") == 2 and len(records) == 4  # 2 right, 2 slipped
    samples = {s.id: s for s in (from_dict(Sample, d) for d in read_jsonl(r1 / "samples.jsonl"))}
    chosen = [samples[r["sample_id"]] for r in records]
    task = make_sum_task()
    problems = [p for p in task.problems("train", 6, cfg.seed + 1) if p.id in {s.problem_id for s in chosen}]
    settings = MCSettings(k=4, temperature=1.0, top_p=cfg.sampling.top_p, max_new_tokens=6,
                          seed=seed_for(cfg.seed, "steps", 1, 1))
    assert records == mc_step_labels(ScriptedGenerator(sum_model), task, problems, chosen, settings, truth=True)
    [call] = continuations(gen)
    asked = [index for at, index in rounds if at <= gen.calls.index(call)][-1]
    assert call["n"] == 4 and call["seed"] == settings.seed and asked == 0  # round 0's model sampled round 1
    assert metrics["steps/attempts"] == 4 and metrics["steps/steps"] == 24
    assert metrics["steps/correct_share"] == (12 + 2 * 2) / 24  # a slip keeps its first two steps right
    assert metrics["steps/tokens"] == sum(r["mc_tokens"] for r in records) > 0  # what compare charges
    assert metrics["steps/truth_agreement"] == 1.0 and metrics["steps/wrong_caught"] == 1.0
    assert "time/step_labels" in metrics
    assert metrics["verifier/prm_records"] == 4 and (r1 / "prm" / "verifier.json").exists()


def test_a_rerun_reads_the_labels_back_instead_of_sampling(tiny_path, tmp_path, scripted):
    gen, _ = scripted
    cfg = loop_config(tiny_path, "task.callable=loop_task:make_sum_task", "sampling.n=2", "verifier.label_samples=2",
                      "verifier.label_k=2", "verifier.label_search=binary", *PRM)
    run = tmp_path / "run"
    first = run_loop(cfg, str(run))[1]
    r1 = run / "rounds" / "001"
    written = (r1 / "step_labels.jsonl").read_text()
    assert len(continuations(gen)) >= 1 and all(r["search"] == "binary" for r in read_jsonl(r1 / "step_labels.jsonl"))
    for name in ("metrics.json", "selected.jsonl", "verifier_scores.jsonl", "verifier_metrics.json"):
        (r1 / name).unlink()  # kill -9 after the step-label stage
    gen.calls.clear()
    again = run_loop(cfg, str(run))[1]
    assert continuations(gen) == [] and (r1 / "step_labels.jsonl").read_text() == written
    assert {k: v for k, v in again.items() if k.startswith("steps/")} == \
        {k: v for k, v in first.items() if k.startswith("steps/")}


def test_never_leaves_a_prm_run_without_labels_and_always_labels_without_a_prm(tiny_path, tmp_path, scripted):
    gen, _ = scripted
    never = loop_config(tiny_path, "task.callable=loop_task:make_sum_task", "verifier.step_labels=never", *PRM)
    metrics = run_loop(never, str(tmp_path / "never"))[1]
    assert not (tmp_path / "never" / "rounds" / "001" / "step_labels.jsonl").exists()
    assert metrics["verifier/prm_records"] == 0 and not continuations(gen)
    always = loop_config(tiny_path, "task.callable=loop_task:make_sum_task", "verifier.step_labels=always",
                         "verifier.label_samples=2", "verifier.label_k=2", "loop.rounds=1")
    assert run_loop(always, str(tmp_path / "always"))[1]["steps/attempts"] == 2
    assert not (tmp_path / "always" / "rounds" / "001" / "prm").exists()


def test_soft_prm_labels_are_the_share_of_right_continuations(tiny_path, tmp_path, scripted, monkeypatch):
    import selftaught.train.verifier as tv

    seen, train = [], tv.train_verifier
    monkeypatch.setattr(tv, "train_verifier", lambda base, records, *a, **k: (seen.append(records),
                                                                               train(base, records, *a, **k)))
    cfg = loop_config(tiny_path, "task.callable=loop_task:make_sum_task", "sampling.n=2", "verifier.label_samples=2",
                      "verifier.label_k=4", "verifier.prm_labels=soft", *PRM)
    run_loop(cfg, str(tmp_path / "run"))
    records = read_jsonl(tmp_path / "run" / "rounds" / "001" / "step_labels.jsonl")
    assert [r["labels"] for r in seen[0]] == [r["soft_labels"] for r in records]
    assert any(0.0 < x < 1.0 for r in seen[0] for x in r["labels"])


@pytest.mark.parametrize("task, sets, key, reason", [
    ("make_multiline_task", ["verifier.kinds=[prm]"], "verifier.kinds", "step_separator"),
    ("make_label_free_task", ["verifier.step_labels=always"], "verifier.step_labels: always", "gold answers"),
])
def test_step_labels_of_a_task_without_them_fail_before_a_model_loads(tiny_path, monkeypatch, task, sets, key,
                                                                      reason):
    monkeypatch.setattr(ModelState, "__init__", lambda *a, **k: pytest.fail("a model was resolved"))
    cfg = loop_config(tiny_path, f"task.callable=loop_task:{task}", *sets)
    with pytest.raises(ConfigError, match=reason) as err:
        run_loop(cfg, "unused")
    assert key in str(err.value) and "verifier.step_labels: never" in str(err.value)


def test_a_prm_run_on_the_tiny_model_labels_with_its_own_sampler(tiny_path, tmp_path):
    cfg = loop_config(tiny_path, "verifier.label_samples=3", "verifier.label_k=2", *PRM)
    metrics = run_loop(cfg, str(tmp_path / "run"))[1]
    records = read_jsonl(tmp_path / "run" / "rounds" / "001" / "step_labels.jsonl")
    assert 1 <= len(records) == metrics["steps/attempts"] <= 3 and metrics["verifier/prm_records"] == len(records)
    for r in records:
        assert len(r["completions"]) == len(r["labels"]) == len(r["soft_labels"]) and r["k"] == 2
        assert r["truth"] is None  # even_length has no exact step truth: no agreement metrics
    assert "steps/truth_agreement" not in metrics


def test_under_bstar_the_labels_sample_at_the_temperature_the_controller_chose(tiny_path, tmp_path, scripted):
    gen, _ = scripted
    cfg = loop_config(tiny_path, "task.callable=loop_task:make_sum_task", "sampling.n=2", "verifier.label_samples=2",
                      "verifier.label_k=2", "loop.kind=bstar", "control.temperatures=[0.3]", "control.probe_size=2",
                      *PRM)
    assert cfg.sampling.temperature != 0.3
    run_loop(cfg, str(tmp_path / "run"))
    temps = {c["temperature"] for c in continuations(gen)}
    assert temps == {0.3}  # the round's chosen temperature, not sampling.temperature
