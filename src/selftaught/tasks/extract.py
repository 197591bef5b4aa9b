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
"""

from __future__ import annotations

import re

__all__ = ["extract_answer", "last_boxed", "clean_answer"]

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


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` in `text`, with nested braces; None if there is none.

    >>> last_boxed(r"so \\boxed{1} then \\boxed{\\frac{1}{2}}")
    '\\\\frac{1}{2}'
    >>> last_boxed(r"\\boxed{unclosed") is None
    True
    """
    for match in reversed(list(_BOXED.finditer(text))):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    return text[start:i]
    return None


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
