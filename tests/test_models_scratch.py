"""The from-scratch model: character tokenizer, NoPE (SmolLM3 with rope off in every layer) or RoPE (Llama),
saved as an ordinary model folder that AutoModelForCausalLM / AutoTokenizer and the project's loader read;
`selftaught scratch` trains one into the recipe's `model` folder and refuses a bad `model`."""

import json

import pytest
import torch
from typer.testing import CliRunner
from transformers import AutoModelForCausalLM, AutoTokenizer

from selftaught.cli.main import app
from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.models.resolve import load_model
from selftaught.models.scratch import CHARACTERS, build_scratch_model, char_tokenizer, save_scratch
from selftaught.train.scratch import scratch_folder

TASK = "task.callable=selftaught.tasks.reversed_addition:task"


def test_the_tokenizer_has_one_token_per_character_and_decodes_without_spaces():
    tok = char_tokenizer()
    text = "321+654=9750\nQuestion: a b"
    ids = tok(text)["input_ids"]
    assert len(ids) == len(text) and tok.unk_token_id not in ids
    assert tok.decode(ids + [tok.eos_token_id], skip_special_tokens=True) == text
    assert len(tok) == 3 + len(CHARACTERS) and tok("é")["input_ids"] == [tok.unk_token_id]


@pytest.mark.parametrize("positions,kind", [("nope", "SmolLM3ForCausalLM"), ("rope", "LlamaForCausalLM")])
def test_save_load_and_generate_round_trip(tmp_path, positions, kind):
    model, tok = build_scratch_model(layers=1, hidden_size=32, heads=2, positions=positions, seed=3)
    save_scratch(model, tok, tmp_path / "m")
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    tok2 = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert type(loaded).__name__ == kind and tok2("12+3=")["input_ids"] == tok("12+3=")["input_ids"]
    if positions == "nope":
        assert loaded.config.no_rope_layers == [0] and not loaded.config.use_sliding_window
    batch = tok2(["12+3=", "1+1="], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, loaded(**batch).logits, atol=1e-5)
    out = loaded.generate(**batch, max_new_tokens=3, do_sample=False)
    width = batch["input_ids"].shape[1]
    assert torch.equal(out[:, :width], batch["input_ids"]) and width < out.shape[1] <= width + 3
    model2, tok3 = load_model(str(tmp_path / "m"), "cpu", "float32")  # the project's own loader
    assert tok3.padding_side == "left" and tok3.pad_token == "<pad>" and model2.config.eos_token_id == tok.eos_token_id


def test_nope_output_does_not_depend_on_absolute_position_of_a_left_padded_prompt():
    """With no positional encoding, left padding (masked) leaves a prompt's logits unchanged."""
    model, tok = build_scratch_model(layers=2, hidden_size=32, heads=2, positions="nope", seed=0)
    short = tok(["12+3="], return_tensors="pt")
    padded = tok(["12+3=", "123456+123456="], return_tensors="pt", padding=True)
    with torch.no_grad():
        a = model(**short).logits[0, -1]
        b = model(**padded).logits[0, -1]
    assert torch.allclose(a, b, atol=1e-4)


def test_scratch_command_trains_into_the_model_folder(tmp_path):
    folder = tmp_path / "scratch"
    args = ["scratch", "length_generalization", "--set", f"model={folder}", "--set", "scratch.n_train=64",
            "--set", "scratch.max_level=2", "--set", "scratch.n_eval=4", "--set", "scratch.layers=1",
            "--set", "scratch.hidden_size=32", "--set", "scratch.heads=2", "--set", "threads=1",
            "--set", "scratch.batch_size=64"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((folder / "scratch_metrics.json").read_text())
    assert set(metrics["accuracy"]) == {"1", "2", "3", "4"} and metrics["train/steps"] == 1
    assert AutoModelForCausalLM.from_pretrained(folder).config.model_type == "smollm3"
    again = CliRunner().invoke(app, args)  # a model is there now
    assert again.exit_code == 2 and "--force" in again.output


def test_scratch_needs_a_local_model_folder(tmp_path):
    with pytest.raises(ConfigError, match="`model` must be a local path"):
        scratch_folder(load_config(None, [TASK]))
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        scratch_folder(load_config(None, [TASK, f"model={tmp_path / 'f'}"]))
