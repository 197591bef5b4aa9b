"""A prompt whose assistant answer is already begun: how step-level search continues a partial solution.

`continuation_prompt(generator, prompt, prefix)` renders the prompt as the generator would (its chat
template with the assistant turn opened, or the plain format) and appends `prefix`, returning text the
backend generates from unchanged (a string prompt is not templated again). With no prefix the prompt
is returned as it is, so a search's first step samples exactly what a plain sample would.
A generator with no tokenizer (a test double) gets the plain format.
"""

from __future__ import annotations

from typing import Any

from ..core.records import Prompt
from ..tasks.formats import format_prompt


def continuation_prompt(generator: Any, prompt: Prompt, prefix: str) -> Prompt:
    """`prompt` with the assistant's answer begun by `prefix` (see the module docstring).

    >>> continuation_prompt(None, [{"role": "user", "content": "1+1?"}], "1 + 1 = 2\\n")
    'Question: 1+1?\\n1 + 1 = 2\\n'
    """
    if not prefix:
        return prompt
    if isinstance(prompt, str):
        return prompt + prefix
    tokenizer = getattr(generator, "tokenizer", None)
    if getattr(generator, "prompt_format", "plain") == "chat" and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(list(prompt), tokenize=False, add_generation_prompt=True)
        bos = getattr(tokenizer, "bos_token", None)
        # the backend encodes a string with the tokenizer's special tokens: do not let a BOS appear twice
        if bos and text.startswith(bos) and tokenizer("a")["input_ids"][:1] == [tokenizer.bos_token_id]:
            text = text[len(bos):]
        return text + prefix
    return str(format_prompt(prompt, "plain")) + prefix


def count_tokens(generator: Any, texts: list[str]) -> int:
    """Tokens of `texts` under the generator's tokenizer (whitespace words without one)."""
    tokenizer = getattr(generator, "tokenizer", None)
    if tokenizer is None:
        return sum(max(1, len(t.split())) for t in texts if t)
    return sum(len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]) if texts else 0
