"""Stop strings in the local backends (hf, fast) on a tiny random Llama, and the per-format stop list.

Method: decode greedily with no stop strings, take a piece of the text as the stop string, decode again
with it: the text must end right before the piece's first occurrence, finish_reason "stop", and the
tokens and log-prob must be those of the first decode's prefix up to the token completing the piece.
"""

from __future__ import annotations

import dataclasses

import pytest

from selftaught.core.records import DEFAULT_STOP, SamplingParams
from selftaught.models.fast import FastGenerator
from selftaught.models.hf import HFGenerator
from selftaught.models.stopping import first_stop, split_stops, stop_cut, suspect_tokens
from selftaught.tasks.prompts import stop_strings

PROMPTS = ["The quick brown fox", [{"role": "user", "content": "What is 12 + 30?"}], "ab"]


def _generators(model, tok):
    return {"hf": HFGenerator(model, tok, batch_size=2), "fast": FastGenerator(model, tok, max_batch=2)}


@pytest.fixture(scope="module")
def pair():
    from conftest import tiny_model_and_tokenizer_pair
    return tiny_model_and_tokenizer_pair()


def test_default_stop_list_is_one_place():
    assert SamplingParams().stop == DEFAULT_STOP == stop_strings("chat")
    assert "\nQuestion:" in stop_strings("plain") and "<|im_start|>" in DEFAULT_STOP
    with pytest.raises(Exception, match="prompt format"):
        stop_strings("xml")


@pytest.mark.parametrize("backend", ["hf", "fast"])
def test_a_stop_string_cuts_the_text(pair, backend):
    model, tok = pair
    gen = _generators(model, tok)[backend]
    free = SamplingParams(temperature=0.0, max_new_tokens=24, stop=())
    base = [g[0] for g in gen.generate(PROMPTS, free)]
    piece = base[0].text[5:8]
    assert len(piece) == 3
    cut = [g[0] for g in gen.generate(PROMPTS, dataclasses.replace(free, stop=(piece, "never there")))]
    for b, c in zip(base, cut):
        at = b.text.find(piece)
        if at < 0:
            assert (c.text, c.n_tokens, c.finish_reason) == (b.text, b.n_tokens, b.finish_reason)
            continue
        assert c.text == b.text[:at] and c.finish_reason == "stop"
        assert c.n_tokens == at + len(piece)  # one token a character: up to the one completing the piece
    assert cut[0].text == base[0].text[:5]


@pytest.mark.parametrize("backend", ["hf", "fast"])
def test_stop_token_ends_like_eos(pair, backend):
    model, tok = pair
    gen = _generators(model, tok)[backend]
    free = SamplingParams(temperature=1.0, max_new_tokens=12, seed=4, stop=())
    base = gen.generate(["ab"], free, n=8)[0]
    cut = gen.generate(["ab"], dataclasses.replace(free, stop=("x",)), n=8)[0]
    for b, c in zip(base, cut):
        assert "x" not in c.text and c.text == b.text.split("x")[0]
        assert c.finish_reason == ("stop" if "x" in b.text else b.finish_reason)
        assert c.logprob <= 0.0 and c.n_tokens <= b.n_tokens


def test_stop_cut_counts_tokens_to_the_completing_one(pair):
    _, tok = pair
    ids = tok("12\nQuestion: 3", add_special_tokens=False)["input_ids"]
    k, text, hit = stop_cut(tok, ids, [], ("\nQuestion:",))
    assert (text, hit) == ("12", True) and k == len("12\nQuestion:")  # one token a character here
    im_start = tok.convert_tokens_to_ids("<|im_start|>")
    assert split_stops(tok, ("<|im_start|>", "\nQ:")) == ([im_start], ("\nQ:",))
    assert stop_cut(tok, ids[:2] + [im_start] + ids[2:], [im_start], ()) == (3, "12", True)
    assert stop_cut(tok, ids[:2], [], ("\nQ:",)) == (2, "12", False)
    assert first_stop("a\nUser: b\nQ:", ("\nQ:", "\nUser:")) == 1


def test_suspects_are_the_tokens_holding_a_last_character(pair):
    _, tok = pair
    suspects = suspect_tokens(tok, ("\nQ:", "[INST]"), len(tok))
    assert {tok.convert_ids_to_tokens(i) for i in suspects} == {":", "]"}
