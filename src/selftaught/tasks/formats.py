"""Prompt formats: how a prompt's chat messages become the model's input text.

Tasks build every prompt as chat messages (system instruction, worked examples as user/assistant
turns, the question). The recipe key `prompt.format` picks how they reach the model:

- `chat`: the tokenizer's chat template (instruct models);
- `plain`: plain text for a base model, no template needed: the system instruction, each worked
  example as a `Question:` line followed by its worked answer (which ends in its `Answer:` line),
  then the question's `Question:` line; the model continues with its reasoning and `Answer:` line;
- `auto`: `chat` when the tokenizer has a chat template, else `plain`.

Generation (every backend) and training records (SFT, DPO, GRPO) go through the same rendering, so
a model is trained on exactly the text it is sampled from. The names are the strings "chat" and
"plain", the names other per-format settings (stop strings) key on.

A chat prompt whose last message is the assistant's is a *continuation* (`continues`): the model writes
on from that text (the start of a solution, as Monte-Carlo step labels and step-level search need).
`chat` renders the turns before it through the template with the generation prompt, then the text as
it is (`chat_text`); `plain` renders the turns before it, then the text.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import SelftaughtError
from ..core.records import Message, Prompt

__all__ = ["PROMPT_FORMATS", "QUESTION", "chat_text", "continues", "format_prompt", "has_chat_template",
           "plain_record", "render_plain", "resolve_prompt_format"]

PROMPT_FORMATS = ("chat", "plain")
QUESTION = "Question: "


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def resolve_prompt_format(setting: str, tokenizer: Any) -> str:
    """"chat" or "plain" for the recipe's `prompt.format` and this tokenizer (`auto` decides by its template).

    >>> resolve_prompt_format("auto", object())
    'plain'
    """
    if setting == "auto":
        return "chat" if has_chat_template(tokenizer) else "plain"
    if setting not in PROMPT_FORMATS:
        raise SelftaughtError(f"prompt.format must be auto, chat or plain, got {setting!r}.")
    if setting == "chat" and tokenizer is not None and not has_chat_template(tokenizer):
        raise SelftaughtError("prompt.format is `chat`, but the model's tokenizer has no chat template (a base "
                              "model); set prompt.format: plain (or auto) to prompt it with plain text.")
    return setting


def render_plain(messages: list[Message]) -> str:
    """Chat messages as plain text: system text, `Question:` lines, worked answers; ends after the question.

    >>> print(render_plain([{"role": "system", "content": "Be brief."},
    ...                     {"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "Answer: 2"},
    ...                     {"role": "user", "content": "2+2?"}]), end="|")
    Be brief.
    <BLANKLINE>
    Question: 1+1?
    Answer: 2
    <BLANKLINE>
    Question: 2+2?
    |
    """
    parts = []
    for m in messages:
        content = str(m["content"]).strip()
        if m["role"] == "user":
            parts.append(f"{QUESTION}{content}\n")
        elif m["role"] == "assistant":
            parts.append(f"{content}\n\n")
        else:  # system (or any other instruction-like role)
            parts.append(f"{content}\n\n")
    return "".join(parts)


def continues(prompt: Prompt) -> bool:
    """Whether `prompt` is chat messages ending with an assistant turn the model continues.

    >>> continues([{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "1 + 1 = 2\\n"}])
    True
    >>> continues([{"role": "user", "content": "1+1?"}]), continues("Question: 1+1?")
    (False, False)
    """
    return not isinstance(prompt, str) and bool(prompt) and prompt[-1].get("role") == "assistant"


def format_prompt(prompt: Prompt, prompt_format: str) -> Prompt:
    """The prompt as the backend takes it: plain text for `plain` (a string stays as it is), else unchanged.
    A continuation's last (assistant) text follows the rendered turns exactly, whitespace included."""
    if prompt_format == "plain" and not isinstance(prompt, str):
        if continues(prompt):
            return render_plain(list(prompt[:-1])) + str(prompt[-1]["content"])
        return render_plain(list(prompt))
    return prompt


def chat_text(tokenizer: Any, messages: list[Message]) -> str:
    """Chat messages through the tokenizer's chat template, ending where the model writes next: after the
    generation prompt, or after a continuation's assistant text (see `continues`)."""
    if continues(messages):
        head = tokenizer.apply_chat_template(list(messages[:-1]), tokenize=False, add_generation_prompt=True)
        return head + str(messages[-1]["content"])
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


def _text(part: Any) -> Any:
    """A TRL completion part (a list of messages, usually one assistant turn) as its text."""
    if isinstance(part, list):
        return "".join(str(m["content"]) for m in part)
    return part


def plain_record(record: dict[str, Any]) -> dict[str, Any]:
    """A conversational training record in TRL's standard (text) form, rendered as `plain` prompts are.

    `messages` -> `prompt`/`completion` text; chat `prompt` -> text; `completion`/`chosen`/`rejected`
    messages -> their text. Other keys are kept; a record already in text form comes back equal.

    >>> plain_record({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})
    {'prompt': 'Question: 2+2?\\n', 'completion': '4'}
    """
    out = dict(record)
    if "messages" in out:
        messages = out.pop("messages")
        out["prompt"], out["completion"] = messages[:-1], [messages[-1]]
    if "prompt" in out:
        out["prompt"] = format_prompt(out["prompt"], "plain")
    for key in ("completion", "chosen", "rejected"):
        if key in out:
            out[key] = _text(out[key])
    return out
