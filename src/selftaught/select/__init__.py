"""Selection: which of a round's scored samples become training data, and in what form.

Rules (one module each, registered in `SELECTORS` as factories of `Selector` callables):

- `correct`    verified-correct samples (STaR / RFT / ReST-EM)
- `threshold`  samples whose score (reward, confidence, a Sample.stats key, or given values) >= threshold
- `majority`   label-free: samples agreeing with their problem's majority answer (pseudo-label)

Every rule takes `dedupe`, `max_per_problem` and `seed`. A rule can also be named as
"package.module:factory" for a user's own factory with the same shape.

Builders: `to_sft_record` (chat `messages`), `build_pairs` (DPO `prompt/chosen/rejected`),
`build_correction_pairs` (DPO pairs of revisions of a wrong attempt);
`selection_metrics` measures a selection against the verifier.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any, Callable, Sequence

from ..core.errors import ConfigError
from ..core.records import Problem, Sample, Score
from .common import Selector
from .correct import make_correct
from .majority import make_majority
from .pairs import build_correction_pairs, build_pairs, spread_pairs
from .records import Selected, prompt_messages, question_only, to_sft_record
from .summary import selection_metrics
from .threshold import make_threshold, sample_value

SELECTORS: dict[str, Callable[..., Selector]] = {
    "correct": make_correct,
    "threshold": make_threshold,
    "majority": make_majority,
}


def get_selector(rule: str, **opts: Any) -> Selector:
    """The selector `rule` names, built with `opts`; a ConfigError names a bad rule or option.

    >>> get_selector("corect")
    Traceback (most recent call last):
    ...
    selftaught.core.errors.ConfigError: unknown selection rule 'corect' (did you mean 'correct'?); known rules: correct, threshold, majority.
    """
    factory = _resolve(rule)
    params = inspect.signature(factory).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        for name in opts:
            if name not in params:
                close = difflib.get_close_matches(name, list(params), n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                raise ConfigError(f"selection rule {rule!r} has no option `{name}`{hint}; "
                                  f"its options: {', '.join(params)}.")
    missing = [n for n, p in params.items() if p.default is inspect.Parameter.empty
               and p.kind is not inspect.Parameter.VAR_KEYWORD and n not in opts]
    if missing:
        raise ConfigError(f"selection rule {rule!r} needs option(s): {', '.join(missing)}.")
    return factory(**opts)


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


def _resolve(rule: str) -> Callable[..., Selector]:
    if rule in SELECTORS:
        return SELECTORS[rule]
    if ":" in rule:
        module, _, name = rule.partition(":")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"selection rule {rule!r}: cannot import it ({e}).") from None
    close = difflib.get_close_matches(rule, list(SELECTORS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown selection rule {rule!r}{hint}; known rules: {', '.join(SELECTORS)}.")


__all__ = [
    "SELECTORS", "Selected", "Selector", "build_correction_pairs", "build_pairs", "get_selector", "make_correct",
    "make_majority", "make_threshold", "prompt_messages", "sample_value", "select",
    "question_only", "selection_metrics", "spread_pairs", "to_sft_record",
]
