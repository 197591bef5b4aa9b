"""A tiny user task for loop tests (loaded as `loop_task:make_task`): a random tiny model "solves" a
problem when its completion has an even number of characters, so selection and training have data."""

from selftaught.core.records import Problem, Score


class EvenLengthTask:
    name = "even_length"
    version = "1"

    def problems(self, split, n, seed, level=None):
        base = 1000 if split == "eval" else 0
        return [Problem(f"{split}-{seed}-{i}", [{"role": "user", "content": f"q{base + seed * 100 + i}"}], "even")
                for i in range(n)]

    def score(self, problem, completion):  # the documented Task contract: the loop stamps the sample id
        text = completion.strip()
        if not text:
            return Score(problem.id, None, "unparsed", 0.0, "even_length")
        ok = len(text) % 2 == 0
        return Score(problem.id, str(len(text)), "correct" if ok else "incorrect", float(ok), "even_length")


def make_task():
    return EvenLengthTask()


class WorkedExampleTask(EvenLengthTask):
    """EvenLengthTask with a system prompt and one worked example (user, assistant) before the question."""

    def problems(self, split, n, seed, level=None):
        shot = [{"role": "system", "content": "Be even."}, {"role": "user", "content": "q-1"},
                {"role": "assistant", "content": "ab"}]
        return [Problem(p.id, shot + p.prompt, p.answer) for p in super().problems(split, n, seed, level)]


def make_worked_example_task():
    return WorkedExampleTask()


class MostlyOneTask:
    """Problems whose gold answer is "1" for 5 of every 8 (the shape of letter_counting's eval split), the
    rest distinct numbers; a completion is scored by its `Answer:` line under the answer-equivalence."""

    name, version = "mostly_one", "1"

    def problems(self, split, n, seed, level=None):
        base = 1000 if split == "eval" else 0
        return [Problem(f"{split}-{seed}-{i}", [{"role": "user", "content": f"count {base + seed * 100 + i}"}],
                        gold_of(i)) for i in range(n)]

    def score(self, problem, completion, sample_id=None):
        from selftaught.scoring.equivalence import equivalent
        from selftaught.tasks.extract import extract_answer

        sid = sample_id or problem.id
        answer = extract_answer(completion)
        if answer is None:
            return Score(sid, None, "unparsed", 0.0, "mostly_one")
        ok = equivalent(answer, problem.answer)
        return Score(sid, answer, "correct" if ok else "incorrect", float(ok), "mostly_one")


def gold_of(i: int) -> str:
    return "1" if i % 8 < 5 else str(10 + i)


def make_mostly_one_task():
    return MostlyOneTask()


class LevelledTask(EvenLengthTask):
    """Levels 0-2 (`levels`): at level 0 every completion is correct, at level L >= 1 one whose length is a
    multiple of L + 1; the problems of each level differ."""

    name, levels = "levelled", [0, 1, 2]

    def problems(self, split, n, seed, level=None):
        level = 0 if level is None else level
        if level not in self.levels:
            raise ValueError(f"no level {level}")
        base = 1000 if split == "eval" else 0
        return [Problem(f"{split}-L{level}-{seed}-{i}", [{"role": "user", "content": f"L{level} q{base + seed * 100 + i}"}],
                        "even", {"level": level}) for i in range(n)]

    def score(self, problem, completion):
        text, level = completion.strip(), problem.meta["level"]
        ok = level == 0 or (len(text) > 0 and len(text) % (level + 1) == 0)
        return Score(problem.id, str(len(text)), "correct" if ok else "incorrect", float(ok), "levelled")


def make_levelled_task():
    return LevelledTask()


SUM_EXPRESSION = "4 - 1 - 7 + 2 + 5 + 1"  # partial sums 3, -4, -2, 3, 4
SUM_RIGHT = "4 - 1 = 3\n3 - 7 = -4\n-4 + 2 = -2\n-2 + 5 = 3\n3 + 1 = 4\nAnswer: 4"
SUM_SLIP = "4 - 1 = 3\n3 - 7 = -4\n-4 + 2 = -3\n-3 + 5 = 2\n2 + 1 = 3\nAnswer: 3"  # first error: step 2


class SumTask:
    """One +/- chain (gold 4) under many ids, named chain_sum so its steps have an exact truth
    (tasks/step_truth.py); a completion is scored by its `Answer:` line."""

    name, version = "chain_sum", "1"

    def problems(self, split, n, seed, level=None):
        base = 1000 if split == "eval" else 0
        return [Problem(f"{split}-{seed}-{i}", [{"role": "user", "content": f"#{base + i}: {SUM_EXPRESSION} ="}], "4",
                        {"metadata": {"expression": SUM_EXPRESSION}}) for i in range(n)]

    def score(self, problem, completion):
        from selftaught.tasks.extract import extract_answer

        answer = extract_answer(completion)
        if answer is None:
            return Score(problem.id, None, "unparsed", 0.0, "sum")
        ok = answer.strip() == problem.answer
        return Score(problem.id, answer, "correct" if ok else "incorrect", float(ok), "sum")


def make_sum_task():
    return SumTask()


class MultilineTask(EvenLengthTask):
    """Gold answers over two lines: newline-separated steps would cut them apart."""

    def problems(self, split, n, seed, level=None):
        return [Problem(p.id, p.prompt, "1\n2") for p in super().problems(split, n, seed, level)]


def make_multiline_task():
    return MultilineTask()


class LabelFreeTask(EvenLengthTask):
    """Problems without gold answers."""

    def problems(self, split, n, seed, level=None):
        return [Problem(p.id, p.prompt, None) for p in super().problems(split, n, seed, level)]


def make_label_free_task():
    return LabelFreeTask()
