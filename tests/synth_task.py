"""A tiny user task with a problem generator (`near`) for the synthesis tests (`synth_task:make_task`).

A problem with modulus m is solved when the completion's length (stripped) is a multiple of m: m = 1 is
always solved, m = 1000 never (completions are a few characters), m = 2 about half the time by a random
tiny model. Arm `a` has three never-solved problems in four, arm `b` one in four.
"""

import random

from selftaught.core.records import Problem, Score

MODS = {"a": [1000, 1000, 1000, 1], "b": [1000, 1, 1, 1]}


class ModTask:
    name = "mod"
    version = "1"

    def problems(self, split, n, seed, level=None):
        out = []
        for i in range(n):
            arm = "a" if i % 2 == 0 else "b"
            mod = MODS[arm][(i // 2) % 4]
            out.append(self._problem(f"{split}-{seed}-{i}", f"q{seed}-{i}", mod, arm))
        return out

    def _problem(self, pid, question, mod, arm):
        return Problem(pid, [{"role": "user", "content": question}], str(mod),
                       {"task": self.name, "arm": arm, "mod": mod, "question": question})

    def score(self, problem, completion):
        text = completion.strip()
        if not text:
            return Score(problem.id, None, "unparsed", 0.0, "mod")
        ok = len(text) % int(problem.answer) == 0
        return Score(problem.id, str(len(text)), "correct" if ok else "incorrect", float(ok), "mod")

    def near(self, problem, n, seed):
        """n problems like `problem`, their moduli drawn from (1, 2, 1000) with `seed`."""
        rng = random.Random(seed)
        return [self._problem(f"{problem.id}~{seed}-{j}", f"near {problem.id} {seed} {j}", rng.choice([1, 2, 1000]),
                              problem.meta["arm"]) for j in range(n)]


def make_task():
    return ModTask()


class EasyTask(ModTask):
    """Every problem has modulus 1: nothing fails, so nothing is made."""

    def _problem(self, pid, question, mod, arm):
        return super()._problem(pid, question, 1, arm)


def make_easy_task():
    return EasyTask()


class NoNearTask(ModTask):
    near = None


def make_plain_task():
    return NoNearTask()
