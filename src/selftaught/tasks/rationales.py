"""Worked examples that show the reasoning, written from a reasoning-gym item's own metadata.

A few-shot example that reads `Working it out gives 3.\\nAnswer: 3` teaches a small model to guess a
number in that form; one that counts, multiplies or divides step by step shows it what to do. Each
builder here takes (question, gold answer, metadata) and returns the worked answer, or None when the
metadata lacks what it needs or its steps do not reach the gold answer (the caller then falls back to
the generic example). Deterministic and cheap: no model, no dataset call. reasoning-gym stores no
step-by-step solution for these datasets, only the parts (the words and letter, the animals, the
numbers), so the steps are written here.
"""

from __future__ import annotations

import re
from typing import Any, Callable

Rationale = Callable[[str, str, dict[str, Any]], "str | None"]

_CHAIN = re.compile(r"^\s*-?\d+(\s*[+-]\s*-?\d+)+\s*$")


def letter_counting(question: str, answer: str, metadata: dict[str, Any]) -> str | None:
    """Count the letter word by word, then add.

    >>> print(letter_counting("", "3", {"span": ["then", "Mr", "hush"], "target_letter": "h"}))
    Count "h" in each word: then 1, Mr 0, hush 2.
    1 + 2 = 3
    Answer: 3
    """
    span, letter = metadata.get("span"), metadata.get("target_letter")
    if not isinstance(span, list) or not isinstance(letter, str) or not letter:
        return None
    counts = [str(w).lower().count(letter.lower()) for w in span]
    if str(sum(counts)) != answer.strip():
        return None
    listed = ", ".join(f"{w} {c}" for w, c in zip(span, counts))
    hits = [str(c) for c in counts if c]
    total = f"{' + '.join(hits)} = {sum(counts)}" if len(hits) > 1 else f"Total: {sum(counts)}"
    return f'Count "{letter}" in each word: {listed}.\n{total}\nAnswer: {answer.strip()}'


def leg_counting(question: str, answer: str, metadata: dict[str, Any]) -> str | None:
    """Legs per kind of animal times how many, then the sum.

    >>> print(leg_counting("", "10", {"animals": {"spider": 1, "human": 1}}))
    spider: 1 x 8 = 8
    human: 1 x 2 = 2
    8 + 2 = 10
    Answer: 10
    """
    try:
        from reasoning_gym.arithmetic.leg_counting import ANIMALS
    except ImportError:
        return None
    animals = metadata.get("animals")
    if not isinstance(animals, dict) or not animals or any(a not in ANIMALS for a in animals):
        return None
    parts = [(a, int(n), int(n) * ANIMALS[a]) for a, n in animals.items()]
    total = sum(p for _, _, p in parts)
    if str(total) != answer.strip():
        return None
    lines = [f"{a}: {n} x {ANIMALS[a]} = {p}" for a, n, p in parts]
    if len(parts) > 1:
        lines.append(f"{' + '.join(str(p) for _, _, p in parts)} = {total}")
    return "\n".join(lines) + f"\nAnswer: {answer.strip()}"


def gcd(question: str, answer: str, metadata: dict[str, Any]) -> str | None:
    """Euclid's algorithm, one division a line, pair by pair.

    >>> print(gcd("", "6", {"numbers": [48, 18]}))
    48 = 2 x 18 + 12
    18 = 1 x 12 + 6
    12 = 2 x 6 + 0
    gcd(48, 18) = 6
    Answer: 6
    """
    numbers = metadata.get("numbers")
    if not isinstance(numbers, list) or len(numbers) < 2 or not all(isinstance(x, int) and x > 0 for x in numbers):
        return None
    lines: list[str] = []
    g = numbers[0]
    for x in numbers[1:]:
        a, b = max(g, x), min(g, x)
        start = (g, x)
        while b:
            lines.append(f"{a} = {a // b} x {b} + {a % b}")
            a, b = b, a % b
        lines.append(f"gcd({start[0]}, {start[1]}) = {a}")
        g = a
    if str(g) != answer.strip():
        return None
    return "\n".join(lines) + f"\nAnswer: {answer.strip()}"


def number_sorting(question: str, answer: str, metadata: dict[str, Any]) -> str | None:
    """Say which end comes first, then take the numbers in that order.

    >>> print(number_sorting("", "['3.0', '1.5']", {"original_numbers": ["1.5", "3.0"], "direction": "descending",
    ...                                             "sorted_numbers": ["3.0", "1.5"]}))
    Descending: largest first. 3.0 > 1.5
    Answer: ['3.0', '1.5']
    """
    numbers, direction = metadata.get("sorted_numbers"), metadata.get("direction")
    if not isinstance(numbers, list) or direction not in ("ascending", "descending") or str(numbers) != answer.strip():
        return None
    descending = direction == "descending"
    first, sign = ("Descending: largest first.", " > ") if descending else ("Ascending: smallest first.", " < ")
    return f"{first} {sign.join(map(str, numbers))}\nAnswer: {answer.strip()}"


def chain_sum(question: str, answer: str, metadata: dict[str, Any]) -> str | None:
    """A chain of + and - worked left to right, one step a line.

    >>> print(chain_sum("", "-4", {"expression": "4 - 1 - 7"}))
    4 - 1 = 3
    3 - 7 = -4
    Answer: -4
    """
    expression = metadata.get("expression")
    if not isinstance(expression, str) or not _CHAIN.match(expression):
        return None
    tokens = re.findall(r"[+-]|\d+", expression.replace(" ", ""))
    lines: list[str] = []
    value, i = (-int(tokens[1]), 2) if tokens[0] == "-" else (int(tokens[0]), 1)
    while i < len(tokens):
        op, negative = tokens[i], tokens[i + 1] == "-"
        number = -int(tokens[i + 2]) if negative else int(tokens[i + 1])
        i += 3 if negative else 2
        new = value + number if op == "+" else value - number
        lines.append(f"{value} {op} {number} = {new}")
        value = new
    if str(value) != answer.strip():
        return None
    return "\n".join(lines) + f"\nAnswer: {answer.strip()}"


# reasoning-gym dataset name -> rationale builder (prompts.WORKED_EXAMPLES wraps each with a fallback).
RATIONALES: dict[str, Rationale] = {
    "letter_counting": letter_counting,
    "leg_counting": leg_counting,
    "gcd": gcd,
    "number_sorting": number_sorting,
    "chain_sum": chain_sum,
}
