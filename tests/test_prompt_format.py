"""`prompt.format`: chat messages become plain text for a base model (no chat template), the same in
generation and in training records; `chat` on a template-less tokenizer is a clear error."""

import pytest

from conftest import make_tiny_model, make_tiny_tokenizer
from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError, SelftaughtError
from selftaught.core.records import SamplingParams
from selftaught.models.fast import FastGenerator
from selftaught.models.hf import HFGenerator
from selftaught.select.records import Selected, to_sft_record
from selftaught.tasks.formats import format_prompt, plain_record, render_plain, resolve_prompt_format
from selftaught.tasks.prompts import build_messages
from selftaught.train.round import prompt_completion

SHOTS = [("Calculate 5 - 3.", "5 - 3 = 2\nAnswer: 2")]
MESSAGES = build_messages("Calculate 1 + 1.", SHOTS, "Solve it.")


def base_tokenizer():
    tok = make_tiny_tokenizer()
    tok.chat_template = None
    return tok


def test_plain_text_states_instruction_examples_and_question():
    text = render_plain(MESSAGES)
    assert text == "Solve it.\n\nQuestion: Calculate 5 - 3.\n5 - 3 = 2\nAnswer: 2\n\nQuestion: Calculate 1 + 1.\n"
    assert format_prompt("already text", "plain") == "already text"
    assert format_prompt(MESSAGES, "chat") is MESSAGES


def test_config_key_and_auto_resolution():
    assert load_config(None, ["task.name=basic_arithmetic"]).prompt.format == "auto"
    assert load_config(None, ["task.name=basic_arithmetic", "prompt.format=plain"]).prompt.format == "plain"
    with pytest.raises(ConfigError, match="prompt.format"):
        load_config(None, ["task.name=basic_arithmetic", "prompt.format=raw"])
    assert resolve_prompt_format("auto", make_tiny_tokenizer()) == "chat"
    assert resolve_prompt_format("auto", base_tokenizer()) == "plain"
    assert resolve_prompt_format("plain", make_tiny_tokenizer()) == "plain"
    with pytest.raises(SelftaughtError, match="prompt.format: plain"):
        resolve_prompt_format("chat", base_tokenizer())


@pytest.mark.parametrize("generator", [HFGenerator, FastGenerator])
def test_base_model_without_chat_template_generates_from_plain_text(generator):
    tok = base_tokenizer()
    gen = generator(make_tiny_model(len(tok)), tok)
    assert gen.prompt_format == "plain"
    ids = gen.encode([MESSAGES])[0] if generator is HFGenerator else gen._hf.encode([MESSAGES])[0]
    assert ids == tok(render_plain(MESSAGES))["input_ids"]
    out = gen.generate([MESSAGES], SamplingParams(temperature=0.0, max_new_tokens=4))
    assert out[0][0].n_tokens >= 1


def test_plain_format_on_a_chat_model_renders_text_and_chat_uses_the_template():
    tok = make_tiny_tokenizer()
    model = make_tiny_model(len(tok))
    plain = HFGenerator(model, tok, prompt_format="plain").encode([MESSAGES])[0]
    chat = HFGenerator(model, tok).encode([MESSAGES])[0]
    assert plain == tok(render_plain(MESSAGES))["input_ids"]
    assert chat == tok(tok.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True),
                       add_special_tokens=False)["input_ids"]


def test_plain_sft_record_is_prompt_completion_text():
    sel = Selected("p1", "p1#0", MESSAGES, "1 + 1 = 2\nAnswer: 2")
    record = to_sft_record(sel, "plain")
    assert record == {"prompt": render_plain(MESSAGES), "completion": "1 + 1 = 2\nAnswer: 2"}
    assert prompt_completion(record) == record  # trained as it is
    assert "messages" in to_sft_record(sel)  # chat stays the default


def test_plain_record_converts_chat_pairs_and_keeps_text():
    pair = {"prompt": MESSAGES, "chosen": [{"role": "assistant", "content": "Answer: 2"}],
            "rejected": [{"role": "assistant", "content": "Answer: 3"}], "kind": "answer"}
    plain = plain_record(pair)
    assert plain == {"prompt": render_plain(MESSAGES), "chosen": "Answer: 2", "rejected": "Answer: 3",
                     "kind": "answer"}
    assert plain_record(plain) == plain
