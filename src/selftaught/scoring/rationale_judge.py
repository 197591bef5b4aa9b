"""Judges that write a short rationale, then a verdict: pointwise (`judge_rationale`) and pairwise
(`judge_pairwise`) LLM judges, as reward functions `fn(problems, samples) -> list[float]`.

Pointwise: the judge model reads the question and one proposed solution (`RATIONALE_PROMPT`) and
writes a few sentences ending in a line `Verdict: correct` or `Verdict: incorrect`; `m` judgments are
sampled per answer and the score is the share of parsed verdicts that say `correct` (0.5 when none
parses). A judgment whose verdict cannot be read is a parse failure: counted (`parse_failures`, and
in `metrics()`), never silently "incorrect".

Pairwise: the judge reads two answers to the same question (`PAIRWISE_PROMPT`) and ends with
`Verdict: A` or `Verdict: B`. Which answer is shown first is drawn per pair from the judge's seed
(core/seeds.py stage `judge`), so a judge that always prefers one position wins half its comparisons
either way; `metrics()` reports `first_wins` (the share of parsed comparisons won by the answer
shown first: the judge's position bias). A sample's score is its share of won comparisons against
up to `opponents` other samples of its problem.

Unlike `judge` (scoring/judge.py: P(yes) read from one next-token distribution), these judges
generate text, so they run on every backend, and their judgments are training data: the
self-rationalization trainer (loop/judge_train.py) prefers judgments whose verdict agrees with the
task's verifier over those that do not.
"""

from __future__ import annotations

import random
import re
from typing import Any

from ..core.errors import ConfigError
from ..core.records import Problem, Sample, SamplingParams
from ..core.seeds import seed_for
from .judge import pending, question_of
from .spec import SCORERS, Scorer

RATIONALE_JUDGE_VERSION = "r1"  # bump when a prompt or the examples change
RATIONALE_PROMPT = (
    "Question: {question}\n\nProposed solution:\n{solution}\n\n"
    "Check the proposed solution in one or two short sentences, then end with a line that is exactly "
    "`Verdict: correct` or `Verdict: incorrect`."
)
PAIRWISE_PROMPT = (
    "Question: {question}\n\nAnswer A:\n{first}\n\nAnswer B:\n{second}\n\n"
    "Which answer is correct? Compare them in one or two short sentences, then end with a line that is "
    "exactly `Verdict: A` or `Verdict: B`."
)
_VERDICT = re.compile(r"verdict\s*[:=\-]?\s*\**\s*`?\s*(incorrect|correct|wrong|right)\b", re.IGNORECASE)
_CHOICE = re.compile(r"verdict\s*[:=\-]?\s*\**\s*`?\s*(?:answer\s*)?([AB])\b", re.IGNORECASE)


def parse_verdict(text: str) -> str | None:
    """`correct`, `incorrect`, or None when the judgment states no verdict (the last one counts).

    >>> parse_verdict("2+3 is 5, as claimed.\\nVerdict: correct")
    'correct'
    >>> parse_verdict("Verdict: Incorrect."), parse_verdict("verdict: wrong"), parse_verdict("It looks fine.")
    ('incorrect', 'incorrect', None)
    """
    found = _VERDICT.findall(text)
    if not found:
        return None
    return "correct" if found[-1].lower() in ("correct", "right") else "incorrect"


def parse_choice(text: str) -> str | None:
    """`A`, `B`, or None: the answer a pairwise judgment picks (the last verdict line counts).

    >>> parse_choice("B adds wrongly. Verdict: A"), parse_choice("Verdict: answer b"), parse_choice("both")
    ('A', 'B', None)
    """
    found = _CHOICE.findall(text)
    return found[-1].upper() if found else None


# Two worked judgments (one of each verdict) shown before the real one: without them the default
# 135M model states a verdict in about 1 judgment of 16; the examples show the format, not the task.
JUDGE_EXAMPLES = (
    ("What is 7 + 5?", "7 + 5 = 12\nAnswer: 12", "7 + 5 is 12, and the solution says 12.\nVerdict: correct"),
    ("What is 9 - 4?", "9 - 4 = 6\nAnswer: 6", "9 - 4 is 5, but the solution says 6.\nVerdict: incorrect"),
)


def judge_messages(problem: Problem, solution: str, prompt: str = RATIONALE_PROMPT,
                   examples: tuple[tuple[str, str, str], ...] = JUDGE_EXAMPLES) -> list[dict[str, str]]:
    """The chat messages a pointwise judge reads (also the prompt of its DPO pairs): the worked
    `examples` (question, solution, judgment) as earlier turns, then the question and `solution`."""
    messages = []
    for question, shown, judgment in examples:
        messages += [{"role": "user", "content": prompt.format(question=question, solution=shown)},
                     {"role": "assistant", "content": judgment}]
    text = prompt.format(question=question_of(problem), solution=solution.strip())
    return messages + [{"role": "user", "content": text}]


def verdict_score(verdicts: list[str | None]) -> float:
    """The share of parsed verdicts that say `correct`; 0.5 when none parsed.

    >>> verdict_score(["correct", None, "incorrect", "correct"]), verdict_score([None])
    (0.6666666666666666, 0.5)
    """
    parsed = [v for v in verdicts if v is not None]
    return sum(v == "correct" for v in parsed) / len(parsed) if parsed else 0.5


class RationaleJudge:
    """Pointwise judge: `m` sampled rationale-then-verdict judgments per (question, answer)."""

    def __init__(self, generator: Any, m: int = 4, temperature: float = 0.7, max_new_tokens: int = 64,
                 seed: int = seed_for(0, "judge", 0), prompt: str = RATIONALE_PROMPT) -> None:
        if not isinstance(m, int) or m < 1:
            raise ConfigError(f"judge.m must be an integer >= 1 (judgments per answer), got {m!r}.")
        self.generator, self.m, self.prompt = generator, m, prompt
        self.params = SamplingParams(temperature, 1.0, max_new_tokens, seed=seed)
        self.cache: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.judgments = self.parse_failures = 0

    def judge(self, problems: list[Problem], samples: list[Sample]) -> list[list[dict[str, Any]]]:
        """Per sample, its `m` judgments: {"text", "verdict", "n_tokens"} (verdict None: a parse failure;
        n_tokens: what the judgment cost to generate)."""
        keys, todo = pending(problems, samples, self.cache,
                             lambda problem, sample: judge_messages(problem, sample.text, self.prompt))
        if todo:
            outs = self.generator.generate(list(todo.values()), self.params, n=self.m)
            for key, row in zip(todo, outs):
                found = [{"text": o.text, "verdict": parse_verdict(o.text), "n_tokens": int(o.n_tokens or 0)}
                         for o in row[: self.m]]
                self.judgments += len(found)
                self.parse_failures += sum(j["verdict"] is None for j in found)
                self.cache[key] = found
        return [self.cache[k] for k in keys]

    def __call__(self, problems: list[Problem], samples: list[Sample]) -> list[float]:
        return [verdict_score([j["verdict"] for j in js]) for js in self.judge(problems, samples)]

    def metrics(self) -> dict[str, Any]:
        """judgments made and the share of them whose verdict did not parse."""
        rate = self.parse_failures / self.judgments if self.judgments else None
        return {"judgments": self.judgments, "parse_failures": self.parse_failures, "parse_failure_rate": rate}


class PairwiseJudge:
    """Pairwise judge: each sample against up to `opponents` others of its problem, in a seeded order."""

    def __init__(self, generator: Any, m: int = 1, temperature: float = 0.7, max_new_tokens: int = 64,
                 opponents: int = 3, seed: int = seed_for(0, "judge", 0, 1), prompt: str = PAIRWISE_PROMPT) -> None:
        if not isinstance(opponents, int) or opponents < 1:
            raise ConfigError(f"judge_pairwise: `opponents` must be an integer >= 1, got {opponents!r}.")
        self.generator, self.m, self.opponents, self.seed, self.prompt = generator, m, opponents, seed, prompt
        self.params = SamplingParams(temperature, 1.0, max_new_tokens, seed=seed)
        self.judgments = self.parse_failures = self.first_wins = 0

    def swapped(self, problem_id: str, a: Sample, b: Sample) -> bool:
        """Whether `b` is shown first in the comparison of `a` with `b` (seeded per pair, not per batch)."""
        return random.Random(f"{self.seed}:{problem_id}:{a.id}:{b.id}").random() < 0.5

    def pairs_of(self, n: int) -> list[tuple[int, int]]:
        """Unordered index pairs: each of n samples against its next `opponents` samples, cyclically."""
        out = {tuple(sorted((i, (i + d) % n))) for i in range(n) for d in range(1, min(self.opponents, n - 1) + 1)}
        return sorted(out)  # type: ignore[arg-type]

    def __call__(self, problems: list[Problem], samples: list[Sample]) -> list[float]:
        if len(problems) != len(samples):
            raise ValueError(f"judge_pairwise: {len(problems)} problems for {len(samples)} samples.")
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(samples):
            groups.setdefault(s.problem_id, []).append(i)
        jobs = []  # (winner-if-A index, winner-if-B index, messages)
        for members in groups.values():
            problem = problems[members[0]]
            for a, b in self.pairs_of(len(members)):
                first, second = members[a], members[b]
                if self.swapped(problem.id, samples[first], samples[second]):
                    first, second = second, first
                text = self.prompt.format(question=question_of(problem), first=samples[first].text.strip(),
                                          second=samples[second].text.strip())
                jobs.append((first, second, [{"role": "user", "content": text}]))
        wins, played = [0.0] * len(samples), [0] * len(samples)
        outs = self.generator.generate([j[2] for j in jobs], self.params, n=self.m) if jobs else []
        for (first, second, _), row in zip(jobs, outs):
            for out in row[: self.m]:
                self.judgments += 1
                choice = parse_choice(out.text)
                if choice is None:
                    self.parse_failures += 1
                    continue
                self.first_wins += choice == "A"
                wins[first if choice == "A" else second] += 1
                played[first] += 1
                played[second] += 1
        return [w / p if p else 0.5 for w, p in zip(wins, played)]

    def metrics(self) -> dict[str, Any]:
        """Judgments, parse failures, and `first_wins`: the share of parsed comparisons the first-shown answer won."""
        parsed = self.judgments - self.parse_failures
        return {"judgments": self.judgments, "parse_failures": self.parse_failures,
                "parse_failure_rate": self.parse_failures / self.judgments if self.judgments else None,
                "first_wins": self.first_wins / parsed if parsed else None}


def _needs(generator: Any, name: str) -> Any:
    if generator is None:
        raise ConfigError(f"the {name} scorer needs a generator (the model that judges).")
    return generator


SCORERS.register("judge_rationale", Scorer(lambda generator=None: RationaleJudge(_needs(generator, "judge_rationale")),
                                           bounded=True))
SCORERS.register("judge_pairwise", Scorer(lambda generator=None: PairwiseJudge(_needs(generator, "judge_pairwise")),
                                          bounded=True))
