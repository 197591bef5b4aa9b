"""seed_for: one seed per (stage, round, index) of a run, never shared by two steps."""

import pytest

from selftaught.core.seeds import STAGES, seed_for


@pytest.mark.parametrize("base", [0, 1, 7, 42, -3, 2**40])
def test_every_step_of_a_run_gets_its_own_seed(base):
    seeds = [seed_for(base, stage, r, i) for stage in STAGES for r in range(300) for i in range(16)]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**32 for s in seeds)


def test_seeds_are_far_apart_so_per_batch_offsets_stay_in_their_step():
    # the hf backend seeds batch b with seed + b, the openai backend request k with seed + k
    seeds = sorted(seed_for(0, stage, r, i) for stage in STAGES for r in range(50) for i in range(4))
    assert min(b - a for a, b in zip(seeds, seeds[1:])) > 64


def test_same_inputs_same_seed_and_different_runs_differ():
    assert seed_for(3, "sample", 2) == seed_for(3, "sample", 2)
    assert seed_for(3, "sample", 2) != seed_for(4, "sample", 2)
    assert seed_for(0, "sample", 1) != seed_for(0, "sample", 1, index=1)


@pytest.mark.parametrize("args", [("nope", 1, 0), ("sample", -1, 0), ("sample", 2**20, 0), ("control", 1, 256)])
def test_out_of_range_inputs_are_refused(args):
    with pytest.raises(ValueError):
        seed_for(0, *args)
