"""`selftaught export` on a tiny 2-round run: the model folder, its card, the data, GGUF, push without a token."""

import json

import pytest
import torch
from typer.testing import CliRunner

from conftest import loop_config
from selftaught.cli.main import app
from selftaught.core.io import read_jsonl
from selftaught.loop.rounds import run_loop
from test_use_gguf import tiny_llama

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished 2-round run of a tiny Llama with a byte-level BPE tokenizer, every checkpoint kept."""
    base = tmp_path_factory.mktemp("export")
    model = tiny_llama(base / "base")
    run_loop(loop_config(str(model), "loop.keep_checkpoints=all"), str(base / "run"))
    return base / "run"


@pytest.fixture(scope="module")
def exported(run_dir):
    out = run_dir.parent / "out"
    done = runner.invoke(app, ["export", str(run_dir), "--out", str(out), "--gguf", "--outtype", "f32"])
    assert done.exit_code == 0, done.output
    return out


def test_model_folder_is_the_rounds_checkpoint(run_dir, exported):
    from transformers import AutoModelForCausalLM

    mine = AutoModelForCausalLM.from_pretrained(exported / "model").state_dict()
    theirs = AutoModelForCausalLM.from_pretrained(run_dir / "rounds" / "002" / "checkpoint").state_dict()
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert (exported / "model.gguf").stat().st_size > 0


def test_model_card_has_recipe_metrics_and_provenance(run_dir, exported):
    card = (exported / "model" / "README.md").read_text()
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for m in rows:
        acc = f"{100 * m['eval/accuracy']:.1f}%"
        assert f"| {m['round']} | {acc} | {100 * m['eval/accuracy_low']:.1f}% - " in card
    assert "loop_task:make_task" in card and "keep_checkpoints: all" in card  # the recipe as run
    n_samples = len(read_jsonl(run_dir / "rounds" / "001" / "samples.jsonl"))
    assert f"round 1: `samples.jsonl` {n_samples}" in card and "selftaught 0." in card
    assert f"selftaught export {run_dir}" in card


def test_data_as_jsonl_and_datasetdict_with_verdicts(run_dir, exported):
    from datasets import load_from_disk

    data = load_from_disk(str(exported / "data" / "dataset"))
    assert set(data) == {"round_000_eval", "round_001_eval", "round_001_samples", "round_001_selected",
                         "round_002_eval", "round_002_samples", "round_002_selected"}
    scores = {s["sample_id"]: s["verdict"] for s in read_jsonl(run_dir / "rounds" / "002" / "scores.jsonl")}
    samples = read_jsonl(exported / "data" / "jsonl" / "round_002" / "samples.jsonl")
    assert len(samples) == len(scores) == data["round_002_samples"].num_rows
    assert all(s["verdict"] == scores[s["sample_id"]] for s in samples)
    selected = read_jsonl(run_dir / "rounds" / "002" / "selected.jsonl")
    assert read_jsonl(exported / "data" / "jsonl" / "round_002" / "selected.jsonl") == selected
    assert data["round_002_selected"]["sample_id"] == [r["sample_id"] for r in selected]
    assert "round_002_samples" in (exported / "data" / "README.md").read_text()


def test_an_earlier_round_exports_its_own_rounds_only(run_dir, tmp_path):
    done = runner.invoke(app, ["export", str(run_dir), "--round", "1", "--out", str(tmp_path / "r1")])
    assert done.exit_code == 0, done.output
    card = (tmp_path / "r1" / "model" / "README.md").read_text()
    assert "| 1 |" in card and "| 2 |" not in card
    assert not (tmp_path / "r1" / "data" / "jsonl" / "round_002").exists()


def test_dtype_casts_the_exported_weights_and_leaves_the_checkpoint_as_it_was(run_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    done = runner.invoke(app, ["export", str(run_dir), "--out", str(tmp_path / "bf"), "--dtype", "bfloat16"])
    assert done.exit_code == 0, done.output
    checkpoint = run_dir / "rounds" / "002" / "checkpoint"
    mine = AutoModelForCausalLM.from_pretrained(tmp_path / "bf" / "model", dtype="auto")
    theirs = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="auto").state_dict()
    assert {p.dtype for p in mine.parameters()} == {torch.bfloat16}
    assert {t.dtype for t in theirs.values()} == {torch.float32}  # the run's checkpoint is untouched
    assert all(torch.equal(t, theirs[k].to(torch.bfloat16)) for k, t in mine.state_dict().items())
    assert (tmp_path / "bf" / "model" / "README.md").exists()
    bad = runner.invoke(app, ["export", str(run_dir), "--out", str(tmp_path / "x"), "--dtype", "int8"])
    assert bad.exit_code == 2 and "bfloat16, float16, float32" in bad.output and not (tmp_path / "x").exists()


def test_push_without_a_token_fails_clearly_after_the_local_export(run_dir, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-tokens"))
    done = runner.invoke(app, ["export", str(run_dir), "--round", "0", "--out", str(tmp_path / "p"),
                               "--push-to-hub", "me/tiny"])
    assert done.exit_code == 2 and "no Hugging Face token" in done.output and "Traceback" not in done.output
    assert (tmp_path / "p" / "model" / "README.md").exists() and (tmp_path / "p" / "data" / "dataset").exists()


def test_not_a_run_dir_and_bad_outtype_exit_2(tmp_path, run_dir):
    assert runner.invoke(app, ["export", str(tmp_path), "--out", str(tmp_path / "o")]).exit_code == 2
    bad = runner.invoke(app, ["export", str(run_dir), "--gguf", "--outtype", "q4"])
    assert bad.exit_code == 2 and "f32, f16, bf16" in bad.output


def test_card_names_the_hub_base_model_and_a_local_one_not():
    from selftaught.use.card import model_card

    rows = [{"round": 0, "eval/accuracy": 0.25, "eval/accuracy_low": 0.1, "eval/accuracy_high": 0.5, "eval/n": 8}]
    card = model_card({"name": "x", "model": "default"}, rows, 0, {}, "runs/x", ["selftaught run"])
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card and "| 0 | 25.0% | 10.0% - 50.0% | 8 |" in card
    assert "base_model" not in model_card({"name": "x", "model": "/models/mine"}, rows, 0, {}, "runs/x", [])
