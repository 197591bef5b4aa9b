"""Stop strings for the local backends (hf, fast): where a completion ends before EOS or the token limit.

`SamplingParams.stop` lists the end of a turn and the start of an invented next one (see
`core.records.DEFAULT_STOP`). A stop string that is one added/special token of the tokenizer (`<|im_start|>`
in ChatML models) is matched by token id, like EOS: decoding skips special tokens, so its text never
shows. Every other stop string is matched in the decoded text. A completion that reaches one ends
there: its text is cut before the stop string, `finish_reason` is "stop", and its tokens (and the
log-prob and stats over them) run up to the token that completed the stop string, as they run up to
and including EOS.

Hand-written because the backends need the cut itself, not only the early stop, and because
transformers' `stop_strings` criterion fails on some tokenizers (a word-level one in the tests raises
"substring not found" while building its tables). `StopOnText` is the early stop for `generate`: each
step it decodes only the rows whose new token is a `suspect_tokens` one.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from transformers import StoppingCriteria


def split_stops(tokenizer: Any, stops: Sequence[str]) -> tuple[list[int], tuple[str, ...]]:
    """(ids of the stops that are single added/special tokens, the other stops as text)."""
    added = tokenizer.get_added_vocab() if hasattr(tokenizer, "get_added_vocab") else {}
    ids = [int(added[s]) for s in stops if s in added]
    return ids, tuple(s for s in stops if s and s not in added)


def first_stop(text: str, stops: Sequence[str]) -> int | None:
    """Where the earliest stop string starts in `text`, or None.

    >>> first_stop("2\\nAnswer: 2\\nQuestion: 3", ("\\nQuestion:", "\\nUser:")), first_stop("ok", ("\\nQ:",))
    (11, None)
    """
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def stop_cut(tokenizer: Any, tokens: Sequence[int], stop_ids: Sequence[int],
             stops: Sequence[str]) -> tuple[int, str, bool]:
    """(tokens kept, text, stopped) of a completion's `tokens` (already ended at EOS or the limit).

    A stop token is kept like EOS; for a text stop the tokens run up to the one completing it (found by
    bisection over decoded prefixes, so only a few decodes) and the text ends before it.
    """
    tokens = list(tokens)
    for i, t in enumerate(tokens):
        if t in stop_ids:
            return i + 1, tokenizer.decode(tokens[:i], skip_special_tokens=True), True
    text = tokenizer.decode(tokens, skip_special_tokens=True)
    at = first_stop(text, stops) if stops else None
    if at is None:
        return len(tokens), text, False
    low, high = 1, len(tokens)  # the smallest prefix whose text holds a stop string
    while low < high:
        mid = (low + high) // 2
        if first_stop(tokenizer.decode(tokens[:mid], skip_special_tokens=True), stops) is None:
            low = mid + 1
        else:
            high = mid
    return high, text[:at], True


def suspect_tokens(tokenizer: Any, stops: Sequence[str], vocab_size: int) -> list[int]:
    """Token ids whose text holds the last character of a text stop: only after one of them can a text stop
    have just been completed (the fast backend checks those rows' text, and no others).

    Read from the raw vocabulary pieces (decoding each token costs ~1 s for a 49k vocabulary): byte-level
    BPE and SentencePiece keep printable ASCII as itself, and byte-fallback pieces (`<0x3A>`) are all
    suspects."""
    last = {s[-1] for s in stops if s}
    if not last:
        return []
    size = min(vocab_size, len(tokenizer))
    pieces = tokenizer.convert_ids_to_tokens(list(range(size)))
    return [i for i, piece in enumerate(pieces)
            if piece is not None and (piece.startswith("<0x") or any(c in piece for c in last))]


class StopOnText(StoppingCriteria):
    """Ends a `generate` row once its completion (tokens from `start` on) holds a text stop string."""

    def __init__(self, tokenizer: Any, stops: Sequence[str], suspects: Sequence[int], start: int) -> None:
        self.tokenizer, self.stops, self.start = tokenizer, tuple(stops), start
        self.suspect = set(suspects)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        last = input_ids[:, -1].tolist()
        done = [False] * len(last)
        rows = [r for r, t in enumerate(last) if t in self.suspect]
        if rows:
            texts = self.tokenizer.batch_decode(input_ids[rows, self.start:].tolist(), skip_special_tokens=True)
            for r, text in zip(rows, texts):
                done[r] = first_stop(text, self.stops) is not None
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
