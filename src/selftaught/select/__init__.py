"""Selection: which of a round's scored samples become training data, and in what form.

Rules (one module each, registered in `SELECTION_RULES` at the bottom of the module, as factories of
`Selector` callables; a new rule is one new module here):

- `correct`    verified-correct samples (STaR / RFT / ReST-EM)
- `threshold`  samples whose score (reward, confidence, a Sample.stats key, or given values) >= threshold
- `majority`   label-free: samples agreeing with their problem's majority answer (pseudo-label)
- `judge`      label-free: samples the policy's own judge called correct (self-rewarding; judgments.py)

A rule can also be named as "package.module:factory" for a user's own factory with the same shape.
`rule_options` gives a factory the `select.*` keys it names as parameters (`score` as `key`), the
round's seed, and `select.options`.

Builders: `to_sft_record` (chat `messages`), `build_pairs` (DPO `prompt/chosen/rejected`),
`build_correction_pairs` (DPO pairs of revisions of a wrong attempt), `build_judgment_pairs` (DPO pairs of
a judge's judgments: self-rationalization);
`selection_metrics` measures a selection against the verifier.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

from ..core.config import SelectConfig
from ..core.errors import ConfigError
from ..core.records import Problem, Sample, Score
from ..core.registry import did_you_mean
from .common import SELECTION_RULES, Selector
from .correct import make_correct
from .judgments import build_judgment_pairs, make_judged
from .majority import make_majority
from .pairs import build_correction_pairs, build_pairs, spread_pairs
from .records import Selected, prompt_messages, question_only, to_sft_record
from .summary import selection_metrics
from .threshold import make_threshold, sample_value

# factory parameter -> the select.* key that feeds it (when the factory names the parameter)
CONFIG_KEYS = {"dedupe": "dedupe", "max_per_problem": "max_per_problem", "threshold": "threshold",
               "key": "score", "min_share": "min_share"}


def rule_factory(rule: str) -> Callable[..., Selector]:
    """The factory a registered rule name or `module:object` names (ConfigError with did-you-mean)."""
    factory = SELECTION_RULES.get(rule)
    if not callable(factory):
        raise ConfigError(f"selection rule `{rule}`: expected a factory returning a selector, got {factory!r}.")
    return factory


def get_selector(rule: str, **opts: Any) -> Selector:
    """The selector `rule` names, built with `opts`; a ConfigError names a bad rule or option.

    >>> get_selector("corect")
    Traceback (most recent call last):
    ...
    selftaught.core.errors.ConfigError: unknown selection rule `corect` (did you mean `correct`?); known: correct, judge, majority, prm_filter, threshold.
    """
    factory = rule_factory(rule)
    params = inspect.signature(factory).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        for name in opts:
            if name not in params:
                raise ConfigError(f"selection rule {rule!r} has no option `{name}`{did_you_mean(name, params)}; "
                                  f"its options: {', '.join(params)}.")
    missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty
               and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL) and n not in opts]
    if missing:
        raise ConfigError(f"selection rule {rule!r} needs option(s): {', '.join(missing)}.")
    return factory(**opts)


def rule_options(sel: SelectConfig, seed: int, threshold: float | None = None,
                 equivalence: str = "auto") -> dict[str, Any]:
    """The options the loop builds `sel.rule` with: each `select.*` key the factory names as a parameter
    (see CONFIG_KEYS; `threshold` the round's, else select.threshold), `seed`, `equivalence` (the task's
    answer_match, for rules that compare answers), and `select.options`.

    >>> rule_options(SelectConfig(rule="threshold", score="logprob"), seed=3, threshold=0.2)
    {'dedupe': True, 'max_per_problem': None, 'threshold': 0.2, 'key': 'logprob', 'seed': 3}
    """
    params = inspect.signature(rule_factory(sel.rule)).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    values = {"dedupe": sel.dedupe, "max_per_problem": sel.max_per_problem,
              "threshold": sel.threshold if threshold is None else threshold, "key": sel.score,
              "min_share": sel.min_share}
    opts = {name: values[name] for name in CONFIG_KEYS if name in params or takes_all}
    if "seed" in params or takes_all:
        opts["seed"] = seed
    if "equivalence" in params:
        opts["equivalence"] = equivalence
    return {**opts, **sel.options}


def select(rule: str, problems: Sequence[Problem], samples: Sequence[Sample],
           scores: Sequence[Score], **opts: Any) -> list[Selected]:
    """Apply selection rule `rule` (with `opts`) to a round; `scores[i]` belongs to `samples[i]`.

    >>> from selftaught.core.records import Problem, Sample, Score
    >>> kept = select("correct", [Problem("a", "1+1?", "2")], [Sample("a", "2", 1)],
    ...               [Score("a#0", "2", "correct", 1.0)], max_per_problem=4)
    >>> to_sft_record(kept[0])["messages"][-1]
    {'role': 'assistant', 'content': '2'}
    """
    return get_selector(rule, **opts)(problems, samples, scores)


__all__ = [
    "CONFIG_KEYS", "SELECTION_RULES", "Selected", "Selector", "build_correction_pairs", "build_judgment_pairs",
    "build_pairs", "get_selector", "make_judged",
    "make_correct",
    "make_majority", "make_threshold", "prompt_messages", "sample_value", "select",
    "question_only", "rule_factory", "rule_options", "selection_metrics", "spread_pairs", "to_sft_record",
]
