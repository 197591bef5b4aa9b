"""Self-generated demonstrations (`task.demos: self`): the model's own verified attempts as few-shot examples.

As in self-contemplation prompting, the starting model answers a few training problems (sampled at
`sampling.temperature`, `sampling.n` attempts each, with the task's own prompt); attempts the task's
verifier judges correct *and* that show some reasoning before their `Answer:` line become the worked
examples, at most one per problem, preferring different answers. Where fewer than `task.few_shot` are
found, the task's own examples fill the rest. The choice is written to `demos.jsonl` in the run
directory (question, worked answer, source, problem and sample id) and read back on resume, so a
resumed run prompts exactly as before.

Nothing here imports the loop: the caller passes the task, the config, the run directory and a
function that returns a generator for the starting model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Sequence

from ..core.errors import ConfigError
from ..core.io import read_jsonl, write_jsonl
from ..core.records import Problem, Sample, SamplingParams, Score
from ..core.seeds import seed_for
from .verdicts import resolve_max_new_tokens, score_sample

DEMOS_FILE = "demos.jsonl"
SEED_OFFSET = 7919  # the demo problems' draw is cfg.seed + this (far from the rounds' cfg.seed + round)
_BARE = re.compile(r"^\s*(working it out gives|the answer is)\b[^\n]*$", re.I)


def has_reasoning(text: str, min_words: int = 4) -> bool:
    """Whether a completion shows work before its final `Answer:` line (not a bare restatement).

    >>> has_reasoning("3 + 4 = 7, then 7 - 2 = 5\\nAnswer: 5"), has_reasoning("Answer: 5")
    (True, False)
    >>> has_reasoning("Working it out gives 5.\\nAnswer: 5")
    False
    """
    if "Answer:" not in text:
        return False
    before = text.rsplit("Answer:", 1)[0].strip()
    return len(before.split()) >= min_words and not _BARE.match(before)


def question_of(problem: Problem) -> str:
    """The question a demonstration shows: the last user turn of a chat prompt, or the prompt text."""
    if isinstance(problem.prompt, str):
        return problem.prompt
    users = [m["content"] for m in problem.prompt if m.get("role") == "user"]
    return str(users[-1]) if users else ""


def pick_demos(problems: Sequence[Problem], samples: Sequence[Sample], scores: Sequence[Score],
               k: int) -> list[dict[str, Any]]:
    """Up to `k` demonstrations: the first correct attempt with reasoning per problem, in problem order,
    those with an answer no earlier pick has first."""
    by_problem: dict[str, tuple[Sample, Score]] = {}
    for sample, score in zip(samples, scores):
        if score.verdict == "correct" and has_reasoning(sample.text) and sample.problem_id not in by_problem:
            by_problem[sample.problem_id] = (sample, score)
    found = [(p, *by_problem[p.id]) for p in problems if p.id in by_problem]
    seen: set[str] = set()
    fresh = [f for f in found if not (str(f[2].extracted) in seen or seen.add(str(f[2].extracted)))]
    chosen = (fresh + [f for f in found if f not in fresh])[:k]
    return [{"question": question_of(p), "worked": s.text.strip(), "source": "self", "problem_id": p.id,
             "sample_id": s.id} for p, s, _ in chosen]


def self_demos(task: Any, generator: Any, problems: list[Problem], params: SamplingParams, n: int,
               k: int) -> list[dict[str, Any]]:
    """Sample `n` attempts for each problem, score them with `task`, and pick up to `k` (pick_demos)."""
    groups = generator.generate([p.prompt for p in problems], params, n=n, problem_ids=[p.id for p in problems])
    samples = [s for g in groups for s in g]
    by_id = {p.id: p for p in problems}
    scores = [score_sample(task, by_id[s.problem_id], s) for s in samples]  # conflicting / truncated too
    return pick_demos(problems, samples, scores, k)


def apply_demos(task: Any, cfg: Any, run_root: str | Path, make_generator: Callable[..., Any],
                say: Callable[[str], None] = print) -> bool:
    """For `task.demos: self`, give `task` its self-generated examples (made once, kept in demos.jsonl).

    Returns True when the task's examples changed (prompts built before must be rebuilt), False for
    `task.demos: given`. `make_generator(round, batch_size, matmul_dtype)` gives the starting model.
    """
    if getattr(cfg.task, "demos", "given") != "self" or cfg.task.few_shot == 0:
        return False
    if not callable(getattr(task, "set_examples", None)):
        raise ConfigError(f"task.demos: self needs a task that accepts examples (a `set_examples` method); "
                          f"task `{getattr(task, 'name', task)}` has none. Use task.demos: given.")
    path = Path(run_root) / DEMOS_FILE
    if path.exists():
        rows = read_jsonl(path)
    else:
        s, k = cfg.sampling, cfg.task.few_shot
        problems = task.problems("train", max(8, 4 * k), cfg.seed + SEED_OFFSET)
        params = SamplingParams(s.temperature, s.top_p, resolve_max_new_tokens(s.max_new_tokens, task),
                                seed=seed_for(cfg.seed, "demos", 0))
        rows = self_demos(task, make_generator(0, s.batch_size, s.matmul_dtype), problems, params, s.n, k)
        given = [{"question": q, "worked": w, "source": "given"} for q, w in task.examples()]
        rows += given[: k - len(rows)]
        write_jsonl(path, rows)
    task.set_examples([(r["question"], r["worked"]) for r in rows])
    mine = sum(r.get("source") == "self" for r in rows)
    say(f"demos: {mine} of {len(rows)} few-shot examples are the model's own verified attempts ({path.name})")
    return True
