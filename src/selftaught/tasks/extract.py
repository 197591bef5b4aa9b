"""Pull the final answer out of a model completion: lenient about format, honest about failure.

Three places are looked at, in order, and the first that yields something wins:

1. the LAST line carrying an answer marker: `Answer: X`, `Final answer: X`, `**Answer:** X`
   (case-insensitive; when the marker ends its line, the next non-empty line is the answer);
2. the LAST `\\boxed{...}` (nested braces handled);
3. the LAST "the answer is X" phrase.

The result is cleaned of surrounding whitespace, `$`, markdown bold/backticks and (unless
`strip_period=False`) one trailing period. With `multiline=True` (answers that are grids or lists of
moves) the value after the marker runs to the first empty line instead of the end of its line.
`None` means nothing was found: the scorer turns that into the verdict `unparsed`, never a silent
"incorrect".

`final_answers` lists every final answer a completion states, in order (each answer-marker line, each
`\\boxed{}` outside one; "the answer is" phrases only when there is neither): a model that does not stop
cleanly invents further turns with answers of their own, and `has_conflict` says when two of them differ
(compared as lower-case text without whitespace, after the cleaning above, also by what follows a
last `=` and by a number before unit words, so `3 + 4 = 7` and `7 apples` both agree with `7`;
`tasks.verdicts` turns a conflict into the verdict `conflicting`, or keeps the first or last answer).
"""

from __future__ import annotations

import re

__all__ = ["extract_answer", "last_boxed", "clean_answer", "final_answers", "answer_spans", "has_conflict"]

# "Answer:", "Final answer:", "**Answer:**", "**Final Answer**:" anywhere on a line.
_MARKER = re.compile(r"(?:\bfinal\s+answer|\banswer)\s*(?:\*\*)?\s*:\s*(?:\*\*)?", re.IGNORECASE)
_ANSWER_IS = re.compile(r"\bthe\s+(?:final\s+)?answer\s+is\s*:?\s*([^\n]*)", re.IGNORECASE)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def clean_answer(text: str, strip_period: bool = True) -> str:
    """Strip whitespace, `$`, markdown bold/backticks and (by default) one trailing period.

    >>> clean_answer("  **$42$**. ")
    '42'
    >>> clean_answer("3.5.")
    '3.5'
    >>> clean_answer("`-7`")
    '-7'
    """
    prev = None
    text = text.strip()
    while text != prev:
        prev = text
        text = text.strip().strip("*`").strip()
        if len(text) >= 2 and text[0] == text[-1] == "$":
            text = text[1:-1]
        text = text.strip("$").strip()
        if strip_period and text.endswith(".") and not text.endswith(".."):
            text = text[:-1]
    return text


def _boxed_spans(text: str) -> list[tuple[str, int, int]]:
    """(content, start, end) of every complete `\\boxed{...}` in `text`, in order."""
    spans = []
    for match in _BOXED.finditer(text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    spans.append((text[start:i], match.start(), i + 1))
                    break
    return spans


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` in `text`, with nested braces; None if there is none.

    >>> last_boxed(r"so \\boxed{1} then \\boxed{\\frac{1}{2}}")
    '\\\\frac{1}{2}'
    >>> last_boxed(r"\\boxed{unclosed") is None
    True
    """
    spans = _boxed_spans(text)
    return spans[-1][0] if spans else None


def _marker_value(lines: list[str], i: int, start: int, multiline: bool) -> str:
    """Raw text after a marker at `lines[i][start:]`: to the end of the line, or the next non-empty
    line if that is empty; with `multiline`, on to the first empty line."""
    rest = [lines[i][start:]] + lines[i + 1:]
    if not rest[0].strip():
        rest = rest[1:]
        while rest and not rest[0].strip():
            rest = rest[1:]
    if not multiline:
        return rest[0] if rest else ""
    block = []
    for line in rest:
        if line == "":  # a truly empty line ends the block (whitespace-only lines can be grid rows)
            break
        block.append(line)
    return "\n".join(block)


def _from_marker(text: str, multiline: bool, strip_period: bool) -> str | None:
    """The value after the last answer marker that has one."""
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        markers = list(_MARKER.finditer(lines[i]))
        if not markers:
            continue
        value = _marker_value(lines, i, markers[-1].end(), multiline)
        boxed = last_boxed(value)
        value = clean_answer(boxed if boxed is not None else value, strip_period)
        if value:
            return value
    return None


def _from_phrase(text: str, strip_period: bool) -> str | None:
    """The value of the last "the answer is X" phrase, up to the end of its sentence."""
    for match in reversed(list(_ANSWER_IS.finditer(text))):
        value = clean_answer(re.split(r"\.\s", match.group(1), maxsplit=1)[0], strip_period)
        if value:
            return value
    return None


def extract_answer(text: str | None, multiline: bool = False, strip_period: bool = True) -> str | None:
    """The final answer in a completion, or None when it states none.

    >>> extract_answer("5 - 3 = 2\\nAnswer: 2")
    '2'
    >>> extract_answer("Answer: 1\\nWait, recheck.\\n**Final Answer:** $-4$.")
    '-4'
    >>> extract_answer(r"We get \\boxed{\\frac{1}{2}}.")
    '\\\\frac{1}{2}'
    >>> extract_answer("So the answer is 12. Done.")
    '12'
    >>> extract_answer("Answer:\\n1 2\\n3 4\\n\\nDone.", multiline=True)
    '1 2\\n3 4'
    >>> extract_answer("I am not sure.") is None
    True
    """
    if not text:
        return None
    found = _from_marker(text, multiline, strip_period)
    if found is None:
        boxed = last_boxed(text)
        found = clean_answer(boxed, strip_period) if boxed is not None else None
    if not found:
        found = _from_phrase(text, strip_period)
    return found or None


def answer_spans(text: str | None, multiline: bool = False) -> list[tuple[str, int]]:
    """(answer, end offset of the text that states it) for every final answer in `text`, in order.

    An answer-marker line ends at its line's end (with `multiline`, its block's); a boxed answer at
    its closing brace. `end == len(text)` means the answer was still being written when the text stopped.

    >>> answer_spans("x\\nAnswer: 2\\ny \\\\boxed{3}")
    [('2', 11), ('3', 23)]
    """
    if not text:
        return []
    found: list[tuple[str, int]] = []
    lines, offset = text.split("\n"), 0
    starts = []
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    for i, line in enumerate(lines):
        markers = list(_MARKER.finditer(line))
        if markers:
            value = _marker_value(lines, i, markers[-1].end(), multiline)
            boxed = last_boxed(value)
            value = clean_answer(boxed if boxed is not None else value)
            if value:
                end = text.find(value.split("\n")[-1], starts[i] + markers[-1].end())
                found.append((value, _line_end(text, end if end >= 0 else starts[i])))
            continue
        found += [(clean_answer(b), starts[i] + e) for b, _, e in _boxed_spans(line) if clean_answer(b)]
    if not found:
        for match in _ANSWER_IS.finditer(text):
            value = clean_answer(re.split(r"\.\s", match.group(1), maxsplit=1)[0])
            if value:
                found.append((value, match.end()))
    return found


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end


def final_answers(text: str | None, multiline: bool = False) -> list[str]:
    """Every final answer `text` states, in order (see the module docstring).

    >>> final_answers("Answer: -2iatrics\\n4 - 5 = 6\\nAnswer: 6")
    ['-2iatrics', '6']
    """
    return [a for a, _ in answer_spans(text, multiline)]


def _forms(answer: str) -> set[str]:
    """An answer as lower-case text without whitespace, plus what follows its last `=` (`3 + 4 = 7`) and
    its first word when only words follow (`5 apples`), so restating the same result is no conflict."""
    forms = {answer}
    if "=" in answer:
        forms.add(answer.rsplit("=", 1)[1])
    unit = re.fullmatch(r"\s*(\S+)\s+[^\W\d_]+(?:\s+[^\W\d_]+)*\s*", answer)
    if unit:
        forms.add(unit.group(1))
    return {re.sub(r"\s+", "", f.casefold()) for f in forms} - {""}


def _same(a: str, b: str) -> bool:
    return bool(_forms(a) & _forms(b))


def has_conflict(text: str | None, multiline: bool = False) -> bool:
    """Whether `text` states two final answers that differ (equal ones repeated are no conflict).

    >>> has_conflict("Answer: 2\\nAnswer: 3"), has_conflict("Answer: 2\\nSo, **Answer:** 2.")
    (True, False)
    >>> has_conflict("Answer: 3 + 4 = 7\\nAnswer: 7 apples"), has_conflict("Answer: 12\\nAnswer: 2")
    (False, True)
    """
    answers = final_answers(text, multiline)
    return any(not _same(answers[0], a) for a in answers[1:])
