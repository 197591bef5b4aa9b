"""`Selected`: one sample kept as training data, and its SFT record: chat `messages`, or prompt/completion
text for the `plain` prompt format (a base model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.errors import DataError
from ..core.records import Message, Prompt
from ..tasks.formats import plain_record


@dataclass
class Selected:
    """A sample a selection rule kept, with what a trainer and a reader of selected.jsonl need."""

    problem_id: str
    sample_id: str
    prompt: Prompt  # the Problem's prompt: text or chat messages
    completion: str  # the sample's text, the assistant turn to train on
    rule: str = "correct"  # the rule that kept it
    label: str | None = None  # the answer it is kept for: the gold answer or a pseudo-label
    label_source: str = "gold"  # "gold" (verified against Problem.answer), "score", "majority"
    score: float | None = None  # the number the rule looked at (reward, threshold key, vote share)
    meta: dict[str, Any] = field(default_factory=dict)  # rule details, e.g. votes, label_correct


def prompt_messages(prompt: Prompt) -> list[Message]:
    """Chat messages for a prompt: a string becomes one user turn; messages are copied.

    >>> prompt_messages("2+2?")
    [{'role': 'user', 'content': '2+2?'}]
    >>> prompt_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}])[0]
    {'role': 'system', 'content': 'Be brief.'}
    """
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, list) and all(isinstance(m, dict) and "role" in m and "content" in m
                                        for m in prompt):
        return [dict(m) for m in prompt]
    raise DataError(f"a prompt must be a string or a list of {{'role', 'content'}} messages, "
                    f"got {type(prompt).__name__}: {str(prompt)[:80]!r}")


def question_only(prompt: Prompt) -> list[Message]:
    """The prompt without its few-shot worked examples: system messages and the final user turn.

    >>> shots = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "1+1?"},
    ...          {"role": "assistant", "content": "Answer: 2"}, {"role": "user", "content": "2+2?"}]
    >>> [m["content"] for m in question_only(shots)]
    ['Be brief.', '2+2?']
    """
    messages = prompt_messages(prompt)
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        raise DataError(f"a prompt without a user turn cannot be reduced to its question: {str(prompt)[:80]!r}")
    return [m for i, m in enumerate(messages) if m["role"] == "system" or i == users[-1]]


def to_sft_record(sel: Selected, prompt_format: str = "chat") -> dict[str, Any]:
    """The SFT record TRL's SFTTrainer takes: chat `messages` (prompt messages + the assistant answer), or
    for `prompt_format` "plain" the prompt as the model saw it in plain text and the completion text.

    >>> to_sft_record(Selected("p1", "p1#0", "2+2?", "2+2 = 4. Answer: 4"))
    {'messages': [{'role': 'user', 'content': '2+2?'}, {'role': 'assistant', 'content': '2+2 = 4. Answer: 4'}]}
    >>> to_sft_record(Selected("p1", "p1#0", [{"role": "user", "content": "2+2?"}], "Answer: 4"), "plain")
    {'prompt': 'Question: 2+2?\\n', 'completion': 'Answer: 4'}
    """
    if prompt_format == "plain":
        return plain_record({"prompt": sel.prompt, "completion": sel.completion})
    return {"messages": prompt_messages(sel.prompt) + [{"role": "assistant", "content": sel.completion}]}
