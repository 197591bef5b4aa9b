"""The composable steps alone, and the shared sample pool."""

from selftaught.core.records import Problem, SamplingParams
from selftaught.inference import Context, steps
from selftaught.inference.base import SamplePool, sequence_confidence
from selftaught.inference.best_of_n import choose

from _inference_fakes import ExactTask, ScriptedGenerator


def test_extract_vote_argmax():
    samples = [s for (s,) in ScriptedGenerator(lambda p, pid, j, params: p).generate(
        ["Answer: 1/2", "Answer: 3", "so the answer is 0.5", "hmm"], SamplingParams())]
    answers = steps.extract(samples)
    assert answers == ["1/2", "3", "0.5", None]
    v = steps.majority(answers)
    assert (v.answer, v.index, v.share) == ("1/2", 0, 0.5)
    assert steps.argmax([0.1, 0.7, 0.7, 0.2]) == 1
    assert steps.tokens(samples) == sum(s.n_tokens for s in samples)


def test_score_all_keeps_problem_alignment():
    seen = []

    def scorer(problems, samples):
        seen.append([(p.id, s.problem_id) for p, s in zip(problems, samples)])
        return [float(len(s.text)) for s in samples]

    gen = ScriptedGenerator(lambda p, pid, j, params: "x" * (j + 1))
    groups = gen.generate(["a", "b"], SamplingParams(), n=2, problem_ids=["a", "b"])
    values = steps.score_all(scorer, [Problem("a", "a"), Problem("b", "b")], groups)
    assert values == [[1.0, 2.0], [1.0, 2.0]]
    assert seen == [[("a", "a"), ("a", "a"), ("b", "b"), ("b", "b")]]


def test_pool_shares_prefixes_and_draws_fresh_seeds():
    gen = ScriptedGenerator(lambda p, pid, j, params: f"seed {params.seed} j {j}")
    pool = SamplePool(gen, SamplingParams(temperature=0.7, seed=5))
    probs = [Problem("a", "qa"), Problem("b", "qb")]
    first = pool.take(probs, 2)
    again = pool.take(probs[:1], 2)
    assert again[0] == first[0] and len(gen.calls) == 1       # cached: no new generation
    more = pool.take(probs, 3)
    assert [s.index for s in more[0]] == [0, 1, 2]
    assert more[0][:2] == first[0] and len(gen.calls) == 2
    assert gen.calls[1]["seed"] != gen.calls[0]["seed"] and gen.calls[1]["n"] == 1


def test_context_pools_are_keyed_by_sampling_settings():
    ctx = Context(ExactTask({}), ScriptedGenerator(lambda *a: "Answer: 1"))
    assert ctx.pool(0.7, 1.0, 32) is ctx.pool(0.7, 1.0, 32)
    assert ctx.pool(0.0, 0.9, 32) is ctx.pool(0.0, 1.0, 32)   # top_p is irrelevant when greedy
    assert ctx.pool(0.7, 1.0, 32) is not ctx.pool(0.7, 1.0, 64)


def test_best_of_n_choice_and_confidence():
    assert choose(["4", "5", "4"], [0.2, 0.9, 0.9], "judge", "auto") == (1, 0.9)
    assert choose(["4", "5", "4"], [1.0, 2.0, 1.5], "self_certainty", "auto") == (1, 2.0 / 4.5)
    best, conf = choose(["4", "5"], [2.0, 1.0], "self_certainty_borda", "auto")   # N=2 Borda total = sqrt2 + 1
    assert best == 0 and abs(conf - 2.0 / (2 ** 0.5 + 1)) < 1e-9


def test_sequence_confidence():
    gen = ScriptedGenerator(lambda *a: "a b")
    (s,), = gen.generate(["x"], SamplingParams())
    assert abs(sequence_confidence(s) - 0.9048374) < 1e-6
