"""The parts of an extracted answer that `equivalence` compares: clean text, items, a remark, a number.

Hand-written because no library of the field does these steps without also doing the harmful ones:
math-verify (through latex2sympy2's normaliser) drops a long list of "unit" words that includes `more`,
`less`, `profit` and single letters, reads letters as symbols and a parenthesis as a product, and
rounds every number to 6 decimals (`0.0000001` equals `0.0000002` for it). So the steps are:

- `clean`: answer markup away (`\\boxed{}`, `$...$`, `\\(...\\)`, `\\text{}`, markdown emphasis, quotes,
  surrounding punctuation), LaTeX spacing and `{,}` away, `\\%` -> `%`, `^\\circ` -> `°`, thousands
  separators dropped (`1,000`, `1 000`, `1'000`, `1\\,000` -> `1000`);
- `split_items`: `(1, 2)`, `[1, 2]`, `{1, 2}` and a bare `1, 2` become items with their bracket kind;
- `strip_remark`: a trailing parenthetical remark after a space (`12 (10+2)`, `3 (approximately)`) and a
  trailing unit after a number (`8 legs`, `5 km/h`, `90°`; `50 percent` -> `50%`) are taken off; the unit
  comes back (normalised) so that two answers naming different units stay different;
- `as_number`: the exact value (a `Fraction`) of a plain number: integer, decimal, scientific
  (`1.5e3`, `1.5 \\times 10^{3}`), fraction (`3/4`, `\\frac{3}{4}`), percent (flagged).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

_MARKUP = [  # (pattern of the whole text, group kept): peeled repeatedly from the outside
    re.compile(r"^\\(?:boxed|fbox)\s*\{(.*)\}$", re.S), re.compile(r"^\$\$(.*)\$\$$", re.S),
    re.compile(r"^\$(.*)\$$", re.S), re.compile(r"^\\\((.*)\\\)$", re.S), re.compile(r"^\\\[(.*)\\\]$", re.S),
    re.compile(r"^\*\*(.*)\*\*$", re.S), re.compile(r"^__(.*)__$", re.S), re.compile(r"^`(.*)`$", re.S),
    re.compile(r'^"([^"]*)"$'), re.compile(r"^'([^']*)'$"), re.compile(r"^“([^”]*)”$"),
]
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox)\s*\{([^{}]*)\}")
_REPLACE = [(re.compile(p), r) for p, r in [
    (r"\\[dt]frac", r"\\frac"), (r"\\(?:left|right)(?![A-Za-z])\s*", ""), (r"\\!", ""), (r"\{,\}", ","),
    (r"\^\s*\{?\s*\\circ\s*\}?", "°"), (r"\\%", "%"), (r"\\\$", ""), (r"\\[,;:> ]|~|[\u00a0\u2009\u202f]", " "),
    (r"[\u2212\u2013]", "-"), (r"\\cdot|×", r"\\times"),
]]
_THOUSANDS_COMMA = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+)(?=\.\d|[^\w,]|,\s|$)")
_THOUSANDS_WHOLE = re.compile(r"^[-+]?\d{1,3}(?:[ '’]\d{3})+(?:\.\d+)?$")
_EDGE_PUNCT = ".!?;:,"


def clean(answer: str) -> str:
    """The answer without markup, surrounding punctuation or thousands separators; case kept.

    >>> clean(" \\\\boxed{1{,}000}. "), clean("**Paris**"), clean("$50\\\\%$"), clean("1 000 000")
    ('1000', 'Paris', '50%', '1000000')
    """
    text = answer.strip()
    for pattern, repl in _REPLACE:
        text = pattern.sub(repl, text)
    text = _TEXT_CMD.sub(lambda m: m.group(1), text)
    for _ in range(8):
        before = text
        text = text.strip()
        stripped = text.lstrip(":;,").rstrip(_EDGE_PUNCT).strip()
        if stripped and not stripped.endswith("\\"):
            text = stripped
        text = text.strip("$").strip() or text  # a lone `$` (currency or half a math delimiter)
        text = re.sub(r"^[€£¥₹](?=\s*[-+]?\d)", "", text)  # other currency signs before a number
        for pattern in _MARKUP:
            m = pattern.match(text)
            if m and m.group(1).strip() and _balanced(m.group(1)):
                text = m.group(1)
                break
        if text == before:
            break
    text = re.sub(r"\s+", " ", text.strip())
    if not re.search(r"[([{]", text) or re.search(r"[,;] ", text):  # `(3,500)` is a pair, `[1,000, 5]` is not
        text = _THOUSANDS_COMMA.sub(lambda m: m.group(1).replace(",", ""), text)
    if _THOUSANDS_WHOLE.match(text):
        text = re.sub(r"[ '’]", "", text)
    return text


def _balanced(text: str) -> bool:
    """Whether every bracket in `text` closes in order (so peeling the outer pair was right)."""
    depth = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth < 0:
            return False
    return depth == 0


_OPEN = {"(": ")", "[": "]", "{": "}"}


def _top_level_splits(text: str) -> list[str]:
    """`text` split at commas and semicolons outside brackets (one piece when there are none)."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch in ",;" and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces]


def split_items(text: str) -> tuple[str | None, list[str]]:
    """(bracket kind, items) of a cleaned answer: kind `()`, `[]`, `{}`, `bare` (no brackets) or None (one item).

    >>> split_items("[1, 2]"), split_items("\\\\{a; b\\\\}"), split_items("3, 3"), split_items("(1+2)")
    (('[]', ['1', '2']), ('{}', ['a', 'b']), ('bare', ['3', '3']), (None, ['(1+2)']))
    """
    inner, kind = text, "bare"
    if text.startswith("\\{") and text.endswith("\\}"):
        inner, kind = text[2:-2], "{}"
    elif text[:1] in _OPEN and text.endswith(_OPEN[text[:1]]) and _balanced(text[1:-1]):
        inner, kind = text[1:-1], text[0] + text[-1]
    pieces = _top_level_splits(inner)
    if len(pieces) == 1:
        return None, [text]
    return kind, [clean(p) for p in pieces]


_OPERATOR_END = re.compile(r"([-+*/^=<>(,:]|\\times|\\div)\s*$")
_UNIT_WORD = r"(?:[A-Za-z]+\.?|°[CFcf]?)(?:\^?[23²³])?"
_UNIT = re.compile(rf"^(?P<head>.*?[\d}}%])\s*(?P<unit>{_UNIT_WORD}(?:\s*(?:/|\s)\s*{_UNIT_WORD}){{0,2}})$")
_ATTACHED = {"cm", "mm", "km", "m", "kg", "g", "mg", "lb", "lbs", "oz", "ft", "s", "ms", "min", "h", "hr", "hrs",
             "ml", "l", "mph", "kmh", "°", "°c", "°f", "km/h", "m/s", "m²", "cm²", "m^2", "cm^2"}
_SINGLE_LETTER_UNITS = {"m", "g", "s", "h", "l"}
_NOT_UNITS = {  # words after a number that change or belong to the value: never stripped
    "pi", "e", "i", "x", "y", "z", "n", "k", "sqrt", "inf", "infty", "infinity", "sin", "cos", "tan", "log", "ln",
    "exp", "mod", "and", "or", "to", "hundred", "thousand", "million", "billion", "trillion", "dozen", "half",
    "halves", "third", "thirds", "quarter", "quarters", "times", "over", "plus", "minus", "squared", "cubed",
}
_ALIASES = {"°": "degree", "deg": "degree", "hr": "hour", "hrs": "hour", "h": "hour", "min": "minute",
            "mins": "minute", "s": "second", "sec": "second", "secs": "second", "lb": "pound", "lbs": "pound",
            "metre": "meter", "litre": "liter"}


def _unit_key(unit: str) -> str:
    """One spelling per unit: lower case, singular, a few abbreviations spelled out (`Legs` -> `leg`)."""
    words = []
    for word in re.split(r"\s+", unit.lower().replace(".", "").strip()):
        if len(word) > 3 and word.endswith(("ches", "shes", "xes", "sses")):
            word = word[:-2]
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(_ALIASES.get(word, word))
    return " ".join(words)


def _strip_parenthetical(text: str) -> str:
    """`text` without one trailing `(...)` that follows a space and a complete answer (else unchanged)."""
    if not text.endswith(")"):
        return text
    depth = 0
    for j in range(len(text) - 1, -1, -1):
        depth += text[j] == ")"
        depth -= text[j] == "("
        if depth == 0:
            break
    head = text[:j]
    if j > 0 and head[-1:].isspace() and head.strip() and _balanced(head) and not _OPERATOR_END.search(head):
        return head.strip()
    return text


def strip_remark(text: str) -> tuple[str, str | None]:
    """(core, unit key or None): a cleaned item without its trailing parenthetical remark or unit.

    >>> strip_remark("12 (10+2)"), strip_remark("8 Legs"), strip_remark("2 pi"), strip_remark("50 percent")
    (('12', None), ('8', 'leg'), ('2 pi', None), ('50%', None))
    """
    for _ in range(3):
        shorter = _strip_parenthetical(text)
        if shorter == text:
            break
        text = shorter
    m = _UNIT.match(text)
    if not m:
        return text, None
    head, unit = m.group("head").strip(), m.group("unit")
    first = re.split(r"[\s/^]", unit.lower())[0].rstrip(".")
    attached = not text[len(m.group("head")):][:1].isspace()
    if first in ("percent", "pct") and unit.lower() in ("percent", "pct"):
        return head + "%", None
    if first in _NOT_UNITS or (attached and unit.lower() not in _ATTACHED) or \
            (len(first) == 1 and first not in _SINGLE_LETTER_UNITS and first != "°"):
        return text, None
    return head, _unit_key(unit)


class Number(NamedTuple):
    value: Fraction
    percent: bool  # written with `%`
    terminating: bool  # written as an integer or a decimal (not as a fraction)


_NUM = r"[-+]?\s*(?:\d+\.?\d*|\.\d+)"
_TIMES_TEN = r"\s*(?:\\times|\*)\s*10\s*\^\s*\{?\s*(?P<p>[-+]?\d+)\s*\}?"
_DECIMAL = re.compile(rf"^(?P<m>{_NUM})(?:[eE](?P<e>[-+]?\d+)|{_TIMES_TEN})?$")
_FRACTION = re.compile(r"^(?P<s>[-+]?)\s*(?:\\frac\s*\{\s*(?P<a>[-+]?\d+)\s*\}\s*\{\s*(?P<b>[-+]?\d+)\s*\}|"
                       r"(?P<c>\d+)\s*/\s*(?P<d>\d+))$")


def as_number(text: str) -> Number | None:
    """The exact value of a plain number (see the module docstring), else None.

    >>> as_number("1.5e3").value, as_number("-\\\\frac{3}{4}").value, as_number("50%")
    (Fraction(1500, 1), Fraction(-3, 4), Number(value=Fraction(50, 1), percent=True, terminating=True))
    """
    text = text.strip()
    percent = text.endswith("%")
    body = text[:-1].strip() if percent else text
    m = _DECIMAL.match(body)
    if m:
        value = Fraction(m.group("m").replace(" ", ""))
        exponent = m.group("e") or m.group("p")
        if exponent is not None:
            value *= Fraction(10) ** int(exponent)
        return Number(value, percent, True)
    m = _FRACTION.match(body)
    if not m:
        return None
    a, b = (m.group("a"), m.group("b")) if m.group("a") is not None else (m.group("c"), m.group("d"))
    if int(b) == 0:
        return None
    value = Fraction(int(a), int(b)) * (-1 if m.group("s") == "-" else 1)
    return Number(value, percent, False)
