"""One seed for every random step of a run: `seed_for(stage, round, index)`.

Every sampling call, selection draw and training run of the loop takes its seed from here, so no two
steps of a run share a random stream. The seed is a bijection of (stage, round, index) for a given
base seed: murmur3's 32-bit finalizer (an invertible mix) applied to the packed key
`stage | round | index` (4 + 20 + 8 bits) xor a mix of the base seed. Distinct steps of a run therefore
never get the same seed, and the seeds are spread over [0, 2**32): the backends that add a small
offset per batch or per request (hf: `seed + batch`, openai: `seed + request`) stay far from the
next step's seed, unlike consecutive formulas such as `1000 * seed + round`. The values fit every
backend (numpy, torch, the fast sampler's 32-bit keys, servers' `seed`).
"""

from __future__ import annotations

STAGES: tuple[str, ...] = ("sample", "probe", "control", "revision", "rationale", "select", "pairs", "train",
                           "eval", "demos", "curriculum", "synth", "steps", "verifier", "judge")
ROUND_BITS, INDEX_BITS = 20, 8  # with 4 bits of stage: a 32-bit key
assert len(STAGES) <= 16  # new stages go at the end: reordering changes every run's seeds
MASK32 = 0xFFFFFFFF


def _fmix32(x: int) -> int:
    """murmur3's finalizer: an invertible map of [0, 2**32) onto itself that scatters nearby inputs."""
    x &= MASK32
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & MASK32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & MASK32
    x ^= x >> 16
    return x


def _base_mix(base: int) -> int:
    """A 32-bit mix of any Python int (negative and wide seeds included)."""
    out, x = 0, 2 * base if base >= 0 else -2 * base - 1  # zigzag: every int to a distinct natural number
    while True:
        out = _fmix32(out ^ (x & MASK32) ^ 0x9E3779B9)
        x >>= 32
        if not x:
            return out


def seed_for(base: int, stage: str, round: int, index: int = 0) -> int:
    """The seed of `stage` in round `round` (the `index`-th call of that stage in the round), run seed `base`.

    >>> seed_for(0, "sample", 1) == seed_for(0, "sample", 1) != seed_for(0, "sample", 2)
    True
    >>> 0 <= seed_for(7, "control", 3, index=2) < 2**32
    True
    """
    if stage not in STAGES:
        raise ValueError(f"unknown seed stage {stage!r}; known: {', '.join(STAGES)}")
    if not 0 <= round < 1 << ROUND_BITS:
        raise ValueError(f"round {round} outside [0, {1 << ROUND_BITS})")
    if not 0 <= index < 1 << INDEX_BITS:
        raise ValueError(f"index {index} outside [0, {1 << INDEX_BITS})")
    key = (STAGES.index(stage) << (ROUND_BITS + INDEX_BITS)) | (round << INDEX_BITS) | index
    return _fmix32(key ^ _base_mix(base))
