"""Any reasoning-gym dataset as a selftaught `Task`.

How train and eval never overlap (and why no "exclude" argument is needed)
---------------------------------------------------------------------------
Every question text is assigned to exactly one *bucket* by a hash of the text itself
(`split_of`): about 20% go to "eval", 5% to "shots" (few-shot examples), 75% to "train".
`problems(split, n, seed)` walks a reasoning-gym dataset built from a seed derived from
(name, split, seed, level) and keeps the first `n` distinct questions that hash into `split`.

So the three sets are disjoint *by construction*, whatever sizes and seeds the caller uses:
a train question can never equal any eval question of any run, because identical text always
hashes to the same bucket. The eval set depends only on (seed, n_eval) (and the task options),
fresh training problems each round come from new seeds, and the task keeps no state.
The few-shot examples come from the "shots" bucket with a fixed seed, so they are part of the
task's prompt (same for every round and split) and appear in neither split.

Scoring passes the extracted answer to the dataset's own `score_answer`. The entry it needs is
rebuilt from `problem.meta` (dataset seed, size, index: reasoning-gym builds item i from
`seed + i`), falling back to the JSON copy in `meta` if the rebuilt question differs. Where the gold
answer is a number, the dataset's scorer also sees the bare number of the answer (`34 legs` and `34.0`
as `34`), since reasoning-gym's default scorer compares strings.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import logging
import re
from typing import TYPE_CHECKING, Any

import reasoning_gym
from reasoning_gym import factory

from ..core.errors import ConfigError, SelftaughtError
from ..core.registry import did_you_mean
from ..core.records import Problem, Score
from .extract import extract_answer
from .kinds import TASK_KINDS
from .verdicts import answer_budget
from .prompts import (PROMPT_VERSION, WorkedExample, build_messages, p1_worked_example_for, steps_worked_example_for,
                      worked_example_for)

if TYPE_CHECKING:
    from ..scoring.equivalence import Equivalence

__all__ = ["ReasoningGymTask", "list_gym_tasks", "split_of", "SPLIT_VERSION"]

log = logging.getLogger("selftaught.tasks")

GYM_NUMBERS_VERSION = "n1"  # bump if `plain_number` changes: it changes verdicts
SPLIT_VERSION = "h1"  # bump if the bucket rule below changes: it decides which questions are held out
_BUCKETS = (("eval", 20), ("shots", 25), ("train", 100))  # cumulative percent of the hash space
_FRACTION = {"eval": 0.20, "shots": 0.05, "train": 0.75}
_RESERVED = ("seed", "size")  # dataset config fields selftaught sets itself
_SHOT_SEED = 0


def list_gym_tasks() -> list[str]:
    """Names of all registered reasoning-gym datasets, sorted (what `selftaught tasks` lists)."""
    return sorted(factory.DATASETS)


def split_of(question: str) -> str:
    """The bucket ("eval", "shots" or "train") a question text belongs to; fixed by its sha1.

    >>> split_of("Calculate 5 - 3.") in {"eval", "shots", "train"}
    True
    """
    h = int(hashlib.sha1(question.strip().encode("utf-8")).hexdigest()[:8], 16) % 100
    return next(name for name, upper in _BUCKETS if h < upper)


def _derive_seed(*parts: Any) -> int:
    """A dataset seed from the given parts; far apart for different parts (item i uses seed + i)."""
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:7], 16)


def _json_safe(value: Any) -> Any:
    """A JSON-serialisable copy: tuples and sets become lists, unknown objects their repr."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_json_safe(v) for v in value), key=repr)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _check_name(name: str) -> None:
    """Raise a ConfigError naming the nearest dataset names when `name` is not registered."""
    if name in factory.DATASETS:
        return
    close = difflib.get_close_matches(name, list_gym_tasks(), n=3, cutoff=0.5)  # up to three: many similar names
    hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    raise ConfigError(
        f"task.name: `{name}` is not a reasoning-gym dataset.{hint} "
        f"Run `selftaught tasks` to list all {len(factory.DATASETS)} names."
    )


def _check_options(name: str, options: dict[str, Any], section: str = "task.options") -> None:
    """Raise a ConfigError for option keys the dataset's config dataclass does not have."""
    config_cls = factory.DATASETS[name][1]
    valid = [f.name for f in dataclasses.fields(config_cls) if f.name not in _RESERVED]
    for key in options:
        if key in _RESERVED:
            raise ConfigError(
                f"{section}.{key}: selftaught sets the dataset `{key}` itself (use the top-level "
                f"`seed` and task.n_train / task.n_eval). Remove it from task.options."
            )
        if key not in valid:
            raise ConfigError(
                f"{section}.{key}: `{name}` has no option `{key}`{did_you_mean(key, valid)}. "
                f"Valid options: {', '.join(valid) or '(none)'}."
            )


class ReasoningGymTask:
    """Problems and scoring from reasoning-gym dataset `name` (see the module docstring for splits)."""

    def __init__(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        few_shot: int = 2,
        system_prompt: str | None = None,
        worked_example: WorkedExample | None = None,
        answer_match: Equivalence = "auto",
        level_options: dict[str, list[Any]] | None = None,
    ):
        _check_name(name)
        from ..scoring.equivalence import MODES  # here: the scoring package imports torch, tasks need not

        if answer_match not in MODES:
            raise ConfigError(f"task.answer_match: must be one of {', '.join(MODES)}, got {answer_match!r}.")
        self.answer_match = answer_match  # for votes; scoring is the dataset's own
        self.name = name
        self.options = dict(options or {})
        _check_options(name, self.options)
        self.level_options = _check_level_options(name, level_options or {})
        if few_shot < 0:
            raise ConfigError(f"task.few_shot must be >= 0, got {few_shot}.")
        self.few_shot = few_shot
        self.system_prompt = system_prompt
        self.worked_example = worked_example or worked_example_for(name)
        self.version = (f"reasoning_gym={reasoning_gym.__version__};prompt={PROMPT_VERSION};split={SPLIT_VERSION};"
                        f"numbers={GYM_NUMBERS_VERSION}")
        self._datasets: dict[tuple, Any] = {}
        self._shots: dict[int | None, list[tuple[str, str]]] = {}
        self._given: list[tuple[str, str]] | None = None
        if self.level_options:
            self.version += f";levels={sorted(self.level_options.items())}"
        self._validate()

    def _validate(self) -> None:
        """Build a small dataset and one item now (and at each of task.level_options' levels), so bad option
        values fail before a model loads."""
        for level in [None] + (list(range(len(next(iter(self.level_options.values()))))) if self.level_options else []):
            try:
                self._build("eval", 0, level, 16)[0]
            except SelftaughtError:
                raise
            except Exception as e:
                where = "task.options" if level is None else f"task.level_options at level {level}"
                raise ConfigError(
                    f"`{self.name}` could not generate a problem with {where} {self._config_kwargs(level)}: "
                    f"{type(e).__name__}: {e}. Check the option values against the dataset's config."
                ) from None

    @property
    def max_new_tokens(self) -> int:
        """This task's default generation budget (`tasks.verdicts.answer_budget` of the gold answers of the
        16 problems `_validate` built): 128 for short answers, more for long ones (number_sorting)."""
        dataset = self._build("eval", 0, None, 16)
        return answer_budget([str(dataset[i].get("answer") or "") for i in range(len(dataset))])

    @property
    def levels(self) -> list[int] | None:
        """The levels reasoning-gym's curriculum for this dataset defines (0 .. the longest attribute's last
        level; above an attribute's last level it stays at its hardest), None without a curriculum."""
        if self.level_options:
            return list(range(len(next(iter(self.level_options.values())))))
        if not factory.has_curriculum(self.name):
            return None
        attributes = factory.create_curriculum(self.name).attributes.values()
        return list(range(max(len(a.levels) for a in attributes)))

    # -- datasets -------------------------------------------------------------------------------

    def _config_kwargs(self, level: int | None) -> dict[str, Any]:
        """The user's options, with the curriculum's difficulty fields for `level` when given."""
        if level is None:
            return dict(self.options)
        if self.level_options:
            n = len(next(iter(self.level_options.values())))
            if not 0 <= level < n:
                raise ConfigError(f"`{self.name}`: task.level_options defines levels 0-{n - 1}, not {level}.")
            return {**self.options, **{k: values[level] for k, values in self.level_options.items()}}
        if not factory.has_curriculum(self.name):
            raise ConfigError(f"`{self.name}` has no reasoning-gym curriculum, so it cannot take a level.")
        if level < 0:
            raise ConfigError(f"level must be >= 0, got {level}.")
        curriculum = factory.create_curriculum(self.name)
        curriculum.set_global_level(level)
        config = curriculum.generate_configuration(defaults=dict(self.options))
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name not in _RESERVED}

    def _build(self, split: str, seed: int, level: int | None, size: int):
        """The reasoning-gym dataset for (split, seed, level, size), cached; bad options -> ConfigError."""
        key = (split, seed, level, size)
        if key not in self._datasets:
            kwargs = self._config_kwargs(level)
            dataset_seed = _derive_seed(self.name, split, seed, level)
            try:
                dataset = reasoning_gym.create_dataset(self.name, seed=dataset_seed, size=size, **kwargs)
            except SelftaughtError:
                raise
            except Exception as e:  # reasoning-gym validates with assert / ValueError / TypeError
                where = (f"task.level_options at level {level}" if level is not None and self.level_options
                         else "task.options")
                raise ConfigError(
                    f"{where} for `{self.name}` were rejected by reasoning-gym: "
                    f"{type(e).__name__}: {e or 'invalid value'}. Options given: {kwargs}."
                ) from None
            self._datasets[key] = dataset
        return self._datasets[key]

    def _draw(self, split: str, n: int, seed: int, level: int | None) -> tuple[Any, list[tuple[int, dict]]]:
        """The first `n` distinct items of the derived dataset whose question hashes into `split`."""
        size = max(256, int(n / _FRACTION[split] * 10))
        dataset = self._build(split, seed, level, size)
        found: list[tuple[int, dict]] = []
        seen: set[str] = set()
        for index in range(size):
            if len(found) >= n:
                break
            entry = dataset[index]
            question = str(entry["question"])
            if question in seen or split_of(question) != split:
                continue
            if split == "shots" and entry.get("answer") is None:
                continue  # a worked example needs a gold answer to show
            seen.add(question)
            found.append((index, entry))
        if len(found) < n and split != "shots":
            raise ConfigError(
                f"`{self.name}` with options {self.options} gave only {len(found)} distinct {split} "
                f"questions out of {size} generated, fewer than the {n} asked for: its question space "
                f"is too small. Widen the options or lower task.n_train / task.n_eval."
            )
        return dataset, found

    # -- Task protocol --------------------------------------------------------------------------

    def examples(self, level: int | None = None) -> list[tuple[str, str]]:
        """The few-shot (question, worked answer) pairs; fixed per task and level, in no split.

        The shots have different gold answers where the "shots" bucket allows (two examples both
        answering 3 prime a small model to answer 3 to everything). Datasets without a single gold answer
        (answer None) cannot show one: fewer shots, with a warning. Override the worked-answer text with
        `worked_example=` (see `prompts.WorkedExample`), or every shot with `set_examples`.
        """
        if self._given is not None:
            return self._given
        if level not in self._shots:
            _, drawn = self._draw("shots", 4 * self.few_shot, _SHOT_SEED, level) if self.few_shot else (None, [])
            drawn = _distinct_answers(drawn, self.few_shot)
            if len(drawn) < self.few_shot:
                log.warning("%s: only %d of %d few-shot examples could be drawn (too few distinct questions "
                            "with a gold answer to show); using those.", self.name, len(drawn), self.few_shot)
            self._shots[level] = [
                (str(e["question"]), self.worked_example(str(e["question"]), str(e["answer"]), e.get("metadata") or {}))
                for _, e in drawn
            ]
        return self._shots[level]

    def set_examples(self, examples: list[tuple[str, str]]) -> None:
        """Use these (question, worked answer) pairs as the few-shot examples of every level from now on
        (self-generated demonstrations, tasks/demos.py); the task's `version` records it."""
        self._given = [(str(q), str(w)) for q, w in examples]
        self.version = self.version.split(";examples=")[0] + ";examples=replaced"

    def problems(self, split: str, n: int, seed: int, level: int | None = None) -> list[Problem]:
        """`n` distinct problems of `split` ("train" or "eval"); deterministic in (split, n, seed, level)."""
        if split not in ("train", "eval"):
            raise ConfigError(f"split must be 'train' or 'eval', got {split!r}.")
        if n < 0:
            raise ConfigError(f"n must be >= 0, got {n}.")
        dataset, drawn = self._draw(split, n, seed, level)
        shots = self.examples(level)
        tag = f"{self.name}-{split}-{seed}" if level is None else f"{self.name}-L{level}-{split}-{seed}"
        return [self._problem(f"{tag}-{i}", split, seed, level, dataset, i, entry, shots) for i, entry in drawn]

    def _problem(self, pid, split, seed, level, dataset, index, entry, shots) -> Problem:
        """One Problem; `meta` is JSON-serialisable and enough to rebuild the gym entry for scoring."""
        question = str(entry["question"])
        answer = entry.get("answer")
        meta = {
            "task": self.name, "split": split, "seed": seed, "level": level,
            "dataset_seed": dataset.seed, "size": dataset.size, "index": index,
            "question": question, "metadata": _json_safe(entry.get("metadata") or {}),
        }
        return Problem(
            id=pid,
            prompt=build_messages(question, shots, self.system_prompt),
            answer=None if answer is None else str(answer),
            meta=meta,
        )

    def _entry(self, problem: Problem) -> tuple[Any, dict[str, Any]]:
        """(dataset, original gym entry) for `problem`, rebuilt from its seed; else the JSON copy in meta."""
        meta = problem.meta
        try:
            dataset = self._build(meta["split"], meta["seed"], meta["level"], meta["size"])
            entry = dataset[meta["index"]]
            if str(entry["question"]) == meta["question"]:
                return dataset, entry
        except (KeyError, TypeError, IndexError, SelftaughtError):
            dataset = self._build("eval", 0, None, 16)
        fallback = {"question": meta.get("question", ""), "answer": problem.answer, "metadata": meta.get("metadata", {})}
        return dataset, fallback

    def score(self, problem: Problem, completion: str) -> Score:
        """Extract the answer, then the dataset's own `score_answer`; correct iff its score >= 1.0.

        When the gold answer spans lines (grids, move lists) the answer block is read to the first
        blank line. A trailing period is stripped, unless keeping it scores higher (sentence answers).
        When the gold answer is a plain number and the answer as written scores below 1, the number
        alone is scored too (`plain_number`: `34 legs`, `34.0`, `1,000`) and the higher score kept.
        The Score carries the problem id; the caller stamps the sample's id on it.
        """
        source = f"reasoning_gym:{self.name}"
        sid = problem.id  # the caller (the loop) stamps the sample's id
        multiline = "\n" in (problem.answer or "")
        extracted = extract_answer(completion, multiline=multiline)
        if extracted is None:
            return Score(sid, None, "unparsed", 0.0, source)
        dataset, entry = self._entry(problem)
        reward = _gym_score(dataset, extracted, entry)
        with_period = extract_answer(completion, multiline=multiline, strip_period=False)
        if reward < 1.0 and with_period and with_period != extracted:
            alt = _gym_score(dataset, with_period, entry)
            if alt > reward:
                extracted, reward = with_period, alt
        plain = plain_number(extracted, problem.answer) if reward < 1.0 else None
        if plain is not None and plain != extracted:
            reward = max(reward, _gym_score(dataset, plain, entry))
        return Score(sid, extracted, "correct" if reward >= 1.0 else "incorrect", reward, source)


def plain_number(answer: str, gold: str | None) -> str | None:
    """The number in `answer` written as the gold answer writes numbers, when `gold` is a plain number.

    A trailing unit or parenthetical remark, answer markup and thousands separators go (the rules of
    `scoring.answer_form`); where the gold answer is an integer, an integral value is written as one
    (`34.0` -> `34`). None when either side is not a plain number, so other answers go to the
    dataset's scorer untouched.

    >>> plain_number("34 legs", "12"), plain_number("34.0", "12"), plain_number("1,000", "7")
    ('34', '34', '1000')
    >>> plain_number("1.50 km", "2.5")
    '1.50'
    >>> plain_number("34.5", "12"), plain_number("three", "3"), plain_number("3", "cat")
    ('34.5', None, None)
    """
    from ..scoring.answer_form import as_number, clean, strip_remark  # here: scoring imports torch

    if gold is None or as_number(clean(gold)) is None:
        return None
    core, _unit = strip_remark(clean(answer))
    number = as_number(core)
    if number is None or number.percent:
        return None
    if re.fullmatch(r"-?\d+", gold.strip()) and number.value.denominator == 1:
        return str(number.value.numerator)
    return core.replace(" ", "")


def _distinct_answers(drawn: list[tuple[int, dict]], n: int) -> list[tuple[int, dict]]:
    """The first `n` items, skipping one whose gold answer an earlier pick already has (then refilling
    in order when too few answers differ)."""
    picked, seen = [], set()
    for item in drawn:
        answer = str(item[1].get("answer")).strip()
        if answer not in seen and len(picked) < n:
            picked.append(item)
            seen.add(answer)
    rest = [item for item in drawn if item not in picked]
    chosen = picked + rest[: n - len(picked)]
    return sorted(chosen, key=lambda item: drawn.index(item))


def _gym_score(dataset: Any, answer: str, entry: dict[str, Any]) -> float:
    """The dataset's `score_answer`; a scorer choking on odd model output counts as 0, not a crash."""
    try:
        return float(dataset.score_answer(answer, entry))
    except Exception:
        return 0.0


def _check_level_options(name: str, level_options: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """task.level_options: dataset option names, each with a non-empty list of values, all one length."""
    if not isinstance(level_options, dict):
        raise ConfigError(f"task.level_options must be a mapping of option -> list of values, got {level_options!r}.")
    _check_options(name, {k: None for k in level_options}, "task.level_options")
    lengths = {k: len(v) for k, v in level_options.items() if isinstance(v, list)}
    bad = [k for k, v in level_options.items() if not isinstance(v, list) or not v]
    if bad or len(set(lengths.values())) > 1:
        raise ConfigError(f"task.level_options: every option needs a non-empty list of values, one per level, all "
                          f"the same length (got {', '.join(f'{k}: {lengths.get(k, level_options[k])!r}' for k in level_options)}).")
    return {k: list(v) for k, v in level_options.items()}


def _gym_task(cfg) -> ReasoningGymTask:
    """task.name: a reasoning-gym dataset (task.demos `bare`: the p1 one-line worked examples; `steps`: running
    partial sums, recorded in the task's version)."""
    shape = {"bare": p1_worked_example_for, "steps": steps_worked_example_for}.get(cfg.demos)
    task = ReasoningGymTask(cfg.name, cfg.options, cfg.few_shot, cfg.system_prompt,
                            worked_example=shape(cfg.name) if shape else None, answer_match=cfg.answer_match,
                            level_options=cfg.level_options)
    if cfg.demos == "steps":
        task.version += ";demos=steps"
    return task


TASK_KINDS.register("name", _gym_task)
