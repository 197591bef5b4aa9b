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
