"""STaR rationalization (Zelikman et al. 2022): a second chance with the answer as a hint.

For each training problem with no correct sample, the model is asked again with the gold answer
given as a hint; the attempts that reach the answer are kept as training data *without* the hint, so
the model learns to produce the rationale unaided. Attempts and verdicts go to
rounds/NNN/rationale_samples.jsonl and rationale_scores.jsonl.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from ..core.records import Problem, Prompt, Sample, Score
from ..select import Selected, select
from .context import RoundContext, RoundSettings

SUFFIX = "+hint"
HINT = "\n(Hint: the correct answer is {answer}. Show the reasoning that reaches it.)"


def with_hint(prompt: Prompt, answer: str) -> Prompt:
    """The prompt with the hint added to its last user turn.

    >>> with_hint([{"role": "user", "content": "2+2?"}], "4")[-1]["content"]
    '2+2?\\n(Hint: the correct answer is 4. Show the reasoning that reaches it.)'
    """
    if isinstance(prompt, str):
        return prompt + HINT.format(answer=answer)
    messages = copy.deepcopy(list(prompt))
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    messages[last_user]["content"] += HINT.format(answer=answer)
    return messages


def rationalize(ctx: RoundContext, index: int, problems: list[Problem], samples: list[Sample],
                scores: list[Score], settings: RoundSettings) -> list[Selected]:
    """Selected rationales (prompt without the hint) for the problems no sample solved.

    Hinted problems get the id `<id>+hint`, so their samples never collide with the round's own.
    """
    solved = {x.problem_id for x, sc in zip(samples, scores) if sc.correct}
    unsolved = {p.id: p for p in problems if p.id not in solved and p.answer is not None}
    if not unsolved:
        return []
    hinted = [replace(p, id=p.id + SUFFIX, prompt=with_hint(p.prompt, p.answer)) for p in unsolved.values()]
    params = ctx.params(settings.temperature, ctx.seed("rationale", index))
    tries, verdicts, _ = ctx.generate_step(index - 1, index, hinted, params, 1, "rationale", "rationalization")
    chosen = select("correct", hinted, tries, verdicts, **ctx.rule_options(settings, index))
    out = []
    for c in chosen:
        original = unsolved[c.problem_id.removesuffix(SUFFIX)]
        out.append(replace(c, problem_id=original.id, prompt=original.prompt, rule="rationalization"))
    return out
