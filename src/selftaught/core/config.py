"""Recipe configuration: every field declared once, with its description beside it.

A recipe is a YAML file validated against `Config`; `--set a.b=value` overrides any key. Unknown keys
are errors naming the key and the nearest valid name; every problem is reported at once.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Callable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .errors import ConfigError
from .records import SAMPLE_SCORES


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def registered(registry: str, name: str) -> str:
    """`name` when the registry `package:REGISTRY` knows it (or it is an importable `module:object`);
    else a ValueError with the nearest name. The registry is imported here, when a config is validated,
    so this module stays light to import."""
    from .registry import import_object

    problem = import_object(registry).check(name)  # type: ignore[attr-defined]
    if problem:
        raise ValueError(problem)
    return name


# Keys that moved under their method (an old recipe gets the new name in the error).
MOVED_KEYS = {"train.dpo_beta": "train.dpo.beta", "train.dpo_ref": "train.dpo.ref", "train.reward": "train.grpo.reward",
              "train.format_reward": "train.grpo.format_reward", "train.grpo_beta": "train.grpo.beta",
              "train.zero_variance_filter": "train.grpo.zero_variance_filter"}


class MixtureSource(_Section):
    name: str | None = Field(None, description="A reasoning-gym dataset name.")
    path: str | None = Field(None, description="A JSONL file or saved `datasets` folder (task.question_field / "
                             "answer_field / level_field apply).")
    callable: str | None = Field(None, description="A user task as `module:function` returning a Task.")
    label: str | None = Field(None, description="The source's name in arms and metrics (default: the dataset name, "
                              "the file's stem or the task's `name`); needed when two sources would share a name.")
    options: dict[str, Any] = Field(default_factory=dict, description="reasoning-gym dataset options of this source.")
    level_options: dict[str, list[Any]] = Field(default_factory=dict, description="As task.level_options, for this "
                                                "source.")
    weight: float = Field(1.0, gt=0.0, description="Share of the problems drawn from this source (weights are "
                          "normalised over the sources).")
    levels: list[int] | None = Field(None, description="The levels this source offers the curriculum (None: "
                                     "curriculum.levels, else every level the source has).")

    @model_validator(mode="after")
    def _one_source(self) -> "MixtureSource":
        given = [k for k in ("name", "path", "callable") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"a mixture source sets exactly one of name, path, callable (got {', '.join(given) or 'none'})")
        return self


class TaskConfig(_Section):
    name: str | None = Field(None, description="A reasoning-gym dataset name (see `selftaught tasks`).")
    path: str | None = Field(None, description="A JSONL file or a saved HF `datasets` folder with question/answer fields.")
    callable: str | None = Field(None, description="A user task as `module:function` returning a Task.")
    mixture: list[MixtureSource] | None = Field(None, description="A weighted mixture of sources instead of one "
        "task: a list of `{name | path | callable, options, weight, levels, label}`; each problem is scored by its "
        "own source, and every round's metrics break accuracy down per source and level (`arm`).")
    options: dict[str, Any] = Field(default_factory=dict, description="Options passed to the reasoning-gym dataset config.")
    level_options: dict[str, list[Any]] = Field(default_factory=dict, description="Levels of your own for a "
        "reasoning-gym dataset, beyond its curriculum's: each key a dataset option, each value its setting per level "
        "(level L takes the L-th value of every list; all lists one length), e.g. `{min_digits: [1, 2, 3, 4, 5], "
        "max_digits: [1, 2, 3, 4, 5]}` for 5 digit levels; these replace the curriculum's levels, and task.options "
        "give the other options. Empty: the dataset's own curriculum levels.")
    level_field: str | None = Field(None, description="JSONL/dataset field holding an integer difficulty level "
                                    "(None: `level`, else `difficulty`, when every row has it; else no levels).")
    question_field: str = Field("question", description="JSONL/dataset field holding the question.")
    answer_field: str = Field("answer", description="JSONL/dataset field holding the gold answer.")
    n_train: int = Field(128, ge=1, description="Training problems sampled each round.")
    n_eval: int = Field(128, ge=1, description="Held-out problems for greedy evaluation (disjoint from training).")
    few_shot: int = Field(2, ge=0, description="Worked examples put in the chat prompt before the question.")
    system_prompt: str | None = Field(None, description="System message; None uses the task's default instruction.")
    answer_match: Literal["auto", "exact", "numeric", "math"] = Field(
        "auto", description="How an answer is compared with the gold one and with other samples' answers (votes): "
        "`auto`: numbers by exact value (`1,000` = `1000.0` = `\\boxed{1000}`), formulas through math-verify, words "
        "as normalised strings (case, spacing, surrounding punctuation); `numeric`: numbers and normalised strings, "
        "no math-verify; `math`: math-verify on everything, words too (only for answers that are all formulas); "
        "`exact`: normalised strings. A trailing unit (`8 legs`) or parenthetical remark (`12 (10+2)`) is set "
        "aside in all but `exact`. reasoning-gym tasks score with the dataset's own scorer and use this for votes.")
    multiple_answers: Literal["verdict", "first", "last"] = Field(
        "verdict", description="A completion stating two different final answers (e.g. a second one in an invented "
        "next turn): `verdict` scores it `conflicting` (not correct, reward 0); `first` scores its first answer; "
        "`last` its last. Counted either way as `conflict_rate` in the rollout and eval metrics.")

    demos: Literal["given", "bare", "self", "steps"] = Field(
        "given", description="The few-shot worked examples: `given` (the task's own; for letter_counting, "
        "leg_counting, gcd, number_sorting and chain_sum written step by step from the item's data), `bare` "
        "(reasoning-gym tasks: the one-line `Working it out gives N.` form of prompt version p1) or `self` "
        "(self-generated: the starting model answers a few training problems, and its verified-correct attempts "
        "that show reasoning become the examples; recorded in the run directory's demos.jsonl and reused on "
        "resume). `self` needs a task with `set_examples` (reasoning-gym tasks). `steps` (chain_sum, basic_arithmetic "
        "with + and -): running partial sums, one `a + b = c` line each, the form whose steps have an exact truth "
        "(step labels, process reward models). Measured with the default model (docs/results.md): on gcd the "
        "step-by-step examples cost 28 points (it loops through Euclid's steps to the token limit): use `bare` there.")


class PromptConfig(_Section):
    format: Literal["auto", "chat", "plain"] = Field(
        "auto", description="How a prompt (system instruction, worked examples, question) becomes the model's input, "
        "in generation and in every training record alike. `chat`: the tokenizer's chat template (an instruct "
        "model); `plain`: plain text with `Question:` lines, each worked answer after its question and the "
        "model continuing after the last one (a base model; SFT/DPO/GRPO records become prompt/completion text); "
        "`auto`: `chat` when the tokenizer has a chat template, else `plain`.")


class SamplingConfig(_Section):
    n: int = Field(4, ge=1, description="Attempts sampled per training problem.")
    temperature: float = Field(0.7, ge=0.0, description="Sampling temperature for training attempts.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    max_new_tokens: int | None = Field(None, ge=1, description="Most tokens generated per attempt; None: the task's "
        "own default (reasoning-gym datasets with long answers, e.g. number_sorting, need more), else 128. A "
        "completion cut here before its answer is scored `truncated`; a warning names this key when over 10% are.")
    batch_size: int = Field(64, ge=1, description="Sequences generated together (prompts x n).")
    token_budget: int | None = Field(
        None, ge=1, description="Equal compute across variants: a round's training attempts stop once this many "
        "tokens have been sampled. The round's task.n_train problems are taken in a seeded shuffled order (so the "
        "cut falls evenly over a curriculum's arms) in chunks of sampling.budget_chunk problems, and the round keeps "
        "the problems sampled before the budget ran out (set task.n_train high enough that it does). None: every "
        "problem is sampled.")
    budget_chunk: int = Field(8, ge=1, description="sampling.token_budget: problems sampled per chunk between "
                              "checks of the budget (the overshoot is at most one chunk).")
    strategy: Literal["sample", "beam_search", "dvts"] = Field(
        "sample", description="How a round's training attempts are made: `sample` (the default: sampling.n independent "
        "samples per problem) or a PRM-guided step-level search whose finished solutions become the attempts, "
        "sampling.n per problem (ReST-MCTS*'s self-training data): `beam_search` (the strategy of `selftaught eval`; "
        "about as many generated tokens as sampling.n samples, of which the n best by step score are kept) or `dvts` "
        "(sampling.n independent subtrees of sampling.search.beam_width children per step: beam_width x the tokens). "
        "Steps are scored by sampling.search.prm; every generated token, pruned branches included, is charged to the "
        "attempts' n_tokens. Needs backend hf or fast and sampling.temperature > 0; not with sampling.token_budget, "
        "train.method grpo or loop.kind bstar (loop/search_rollouts.py).")
    search: dict[str, Any] = Field(
        default_factory=dict, description="sampling.strategy beam_search / dvts: the search's own options, as "
        "`selftaught eval --strategy beam_search` takes them: `prm` (the step scorer: `step_logprob`, the policy's "
        "own step probabilities; `learned_prm`, the PRM of the newest round before this one that trained one, "
        "verifier.kinds [prm], falling back to step_logprob while none exists, as in round 1; or `module:object`), "
        "`aggregate` (default last), `beam_width` (4), `max_steps` (8), `max_step_tokens` (64: a step cut there ends its "
        "solution, scored truncated without an answer). The attempts per problem, temperature, top_p and token limit "
        "come from sampling.n / temperature / top_p / max_new_tokens.")
    matmul_dtype: Literal["auto", "model", "bfloat16"] = Field(
        "model", description="backend fast: dtype of the sampler's matrix multiplies for training attempts (and "
        "probes). `model` (the default): the model's dtype; `bfloat16`; `auto`: bfloat16 when the model runs in "
        "float32 on a CPU with native bf16 matmuls (AVX512-BF16 or AMX), else the model's dtype. Only the matmuls "
        "narrow (activations are cast for each and the result cast back; the residual stream, norms, attention, KV "
        "cache and sampling stay float32): ~1.6x faster sampling on a 2-core AVX512-BF16 CPU, same pass@1 within "
        "noise, but over eight seeds the default recipe gained 3.2 points less with it than in float32 (+5.6 vs "
        "+8.8, paired interval [-6.1, -0.4]; docs/results.md), so it is opt-in. Other backends ignore it.")


class EvalConfig(_Section):
    max_new_tokens: int | None = Field(None, ge=1, description="Most tokens generated per held-out answer (greedy); "
        "None: the task's own default, else 128 (as sampling.max_new_tokens).")
    batch_size: int = Field(64, ge=1, description="Held-out prompts generated together.")
    matmul_dtype: Literal["auto", "model", "bfloat16"] = Field(
        "model", description="backend fast: as sampling.matmul_dtype, for the held-out evaluation. `model` (the "
        "default) keeps the reported accuracy in the model's own precision: bf16 matmuls change ~14% of the "
        "default task's greedy completions (near-ties), though not the accuracy beyond noise.")


class SelectConfig(_Section):
    rule: str = Field(
        "correct", description="Which samples become training data: `correct` (verifier, RFT), `threshold` "
        "(a score >= select.threshold), `majority` (label-free: agree with the majority answer), `judge` "
        "(self-rewarding, train.method dpo: the policy judges its own candidates, judge.*), or a user's "
        "rule factory as `module:object`.")
    score: str = Field("reward", description="For `threshold`: the per-sample score: `reward` (the verifier's), "
                       "`logprob`, or a Sample.stats key the backends write: `mean_logprob`, `mean_entropy`, "
                       "`self_certainty` (checked at load; any key with a user's `module:object` backend or rule).")
    threshold: float = Field(0.5, description="For `threshold`: keep samples whose score is at least this.")
    min_share: float = Field(0.0, ge=0.0, le=1.0, description="For `majority`: least vote share of the majority answer.")
    dedupe: bool = Field(True, description="Drop repeated completions of the same problem (after whitespace normalisation).")
    max_per_problem: int | None = Field(None, ge=1, description="Keep at most this many samples per problem (None: all).")
    dedupe_across: bool = Field(
        False, description="Against answer collapse: also drop a kept record whose completion (whitespace-normalised) "
        "a record of another problem already has (the first kept stays). A completion that fits many questions "
        "reasons about none of them: with one-line worked examples most correct records read `Working it out "
        "gives 1. Answer: 1` for every problem whose answer is 1, and training on them teaches the constant.")
    max_records: int | None = Field(
        None, ge=1, description="Equal compute across variants: at most this many training records a round (after "
        "the other select keys), a seeded subset taking one record per problem before any problem's second. None: "
        "all. With sampling.token_budget it makes variants sample and train on the same amounts.")
    max_answer_share: float | None = Field(
        None, gt=0.0, le=1.0, description="Answer-balanced selection against answer collapse: no one answer (its "
        "equivalence group) may be more than this share of a round's kept records; an answer over it keeps a "
        "seeded subset spread over its problems (at least one record). None: no cap. Applies to the rules that keep "
        "samples (correct, threshold, majority, prm_filter, a user's rule), not to DPO pairs or GRPO.")
    rationalize: bool = Field(False, description="STaR rationalization: for problems with no correct sample, retry with "
                              "the gold answer as a hint and keep rationales that reach it (trained without the hint).")
    n_star: int = Field(4, ge=1, description="B-STaR balance score target: correct selected samples wanted per problem.")
    strip_few_shot: bool = Field(False, description="SFT records keep only the system prompt and the question (the final "
                                 "user turn), without the task's few-shot worked examples, as STaR fine-tunes without its "
                                 "few-shot prompt; sampling and evaluation still use the full prompt. On the default "
                                 "recipe a record is about a third as many tokens, so training is about 3x cheaper.")
    pairs_per_problem: int = Field(1, ge=1, description="train.method dpo: most (chosen, rejected) pairs per "
                                   "problem; with rule `majority` the pseudo-label decides chosen vs rejected.")
    pairs: Literal["answer", "correction", "both"] = Field(
        "answer", description="train.method dpo: which pairs: `answer` (a correct vs a wrong attempt at the problem), "
        "`correction` (self-correction: one wrong attempt per problem is revised sampling.n times, prompt = problem + "
        "attempt + a 'your answer is wrong, correct it' turn; a correct revision vs one still wrong, or the attempt "
        "itself when none is; needs rule `correct`), `both`. pairs_per_problem applies to each kind.")
    options: dict[str, Any] = Field(default_factory=dict, description="Extra options passed to the rule's factory "
                                    "(a user's own rule); the keys above reach a rule that names them as parameters "
                                    "(`score` as `key`).")

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        return registered("selftaught.select.common:SELECTION_RULES", rule)

    @model_validator(mode="after")
    def _rule_takes_options(self) -> "SelectConfig":
        if self.options:  # the factory is built here with the options, so a typo fails before a model loads
            from .registry import import_object  # looked up by name, as the registries are: no import upwards

            get_selector, rule_options = (import_object(f"selftaught.select:{n}") for n in ("get_selector", "rule_options"))
            try:
                get_selector(self.rule, **rule_options(self, seed=0))
            except ConfigError as e:
                raise ValueError(f"select.options: {e}") from None
        return self


class ControlConfig(_Section):
    temperatures: list[float] = Field([0.5, 0.7, 0.9, 1.1], min_length=1, max_length=256,
                                      description="bstar: sampling temperatures tried on the probe subset each round.")
    thresholds: list[float] = Field(default_factory=list, description="bstar: select.threshold values tried "
                                    "(with rule `threshold`); empty keeps select.threshold.")
    probe_size: int = Field(32, ge=1, description="bstar: training problems sampled at each grid point.")


class ProbeConfig(_Section):
    n_problems: int = Field(0, ge=0, description="Held-out problems sampled n times each round at the round's "
                            "temperature for pass@k / diversity on a fixed set (0: off).")


class LoraConfig(_Section):
    enabled: bool = Field(False, description="Train a LoRA adapter instead of all weights; merged when saved.")
    r: int = Field(16, ge=1, description="LoRA rank.")
    alpha: int = Field(32, ge=1, description="LoRA alpha.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="LoRA dropout.")
    target_modules: list[str] | str = Field("all-linear", description="Modules to adapt (PEFT `target_modules`).")


class DPOOptions(_Section):
    beta: float = Field(0.1, gt=0.0, description="Strength of the KL pull towards the reference model.")
    ref: Literal["round", "base"] = Field(
        "round", description="Reference model: `round` = the round's starting model (refreshed every round, "
        "iterative DPO), `base` = the run's starting model in every round.")


class GRPOOptions(_Section):
    reward: str = Field(
        "verifier", description="Reward per completion: `verifier` (the task's scorer against the gold answer), "
        "`majority` (label-free, TTRL: 1 when the answer equals its group's majority answer), `self_certainty` "
        "(label-free, Intuitor: the policy's mean KL(uniform || p) over the completion), or a user's reward "
        "function `fn(problems, samples) -> list[float]` as `module:object`.")
    format_reward: float = Field(0.0, ge=0.0, description="Weight of an extra reward of 1 when a final answer "
                                 "parses (0: off).")
    zero_variance_filter: bool = Field(True, description="Drop prompts whose completions all get the same reward "
                                       "from the loss (counted as train/zero_variance_groups).")
    beta: float = Field(0.0, ge=0.0, description="KL coefficient towards the round's starting model (0: no "
                        "reference model, TRL's default).")

    @field_validator("reward")
    @classmethod
    def _known_reward(cls, reward: str) -> str:
        return registered("selftaught.train.rewards:REWARDS", reward)


class TrainConfig(_Section):
    method: str = Field(
        "sft", description="Training method: `sft` (TRL SFTTrainer on the selected samples, loss on the completion "
        "only), `dpo` (TRL DPOTrainer on correct-vs-wrong pairs of the round's samples, written to pairs.jsonl), "
        "`grpo` (TRL GRPOTrainer: one pass over the round's training problems, sampling its own groups of "
        "sampling.n completions, rewarded by train.grpo.reward), or a user's `Trainer` as `module:object`.")
    learning_rate: float = Field(2e-5, gt=0.0, description="Peak learning rate.")
    epochs: float = Field(2.0, gt=0.0, description="Passes over the round's selected samples.")
    batch_size: int = Field(8, ge=1, description="Per-device training batch size.")
    grad_accum: int = Field(1, ge=1, description="Gradient accumulation steps.")
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0, description="Fraction of steps spent warming up the LR.")
    lr_scheduler: str = Field("constant", description="transformers LR scheduler name.")
    gradient_checkpointing: bool = Field(False, description="Recompute activations in the backward pass: less "
                                         "memory, about 30% more compute (worth it for large models on a GPU).")
    max_length: int = Field(512, ge=8, description="Longest training sequence in tokens (prompt + completion).")
    padding_free: bool | None = Field(
        None, description="sft: concatenate a batch's records into one row without padding (TRL's padding_free; "
        "position_ids restart at each record, so no record attends to another and the loss is the padded batch's). "
        "None: on when the model's attention is a flash-attention kernel, which skips padding; off with sdpa/eager, "
        "whose mask then spans the whole row (correct, but slower on a GPU).")
    packing: bool = Field(False, description="sft: pack several records into each row of max_length tokens (TRL's "
                          "bfd packing, padding-free). Fewer, fuller steps: batch_size then counts rows, not records, "
                          "so the number of optimizer steps and the loss curve change.")
    bf16: bool | None = Field(None, description="bf16 mixed precision (float32 weights, bf16 autocast), every "
                              "method. None: on a GPU that supports it, off on the CPU (TRL's default is on everywhere).")
    lora: LoraConfig = Field(default_factory=LoraConfig, description="PEFT LoRA settings.")
    report_to: Literal["none", "tensorboard", "wandb"] = Field(
        "none", description="Tracker for the trainers' step logs and the loop's per-round metrics (tensorboard "
        "writes under RUN_DIR/tb; needs the `tensorboard` or `wandb` package).")
    dpo: DPOOptions = Field(default_factory=DPOOptions, description="train.method dpo: its options.")
    grpo: GRPOOptions = Field(default_factory=GRPOOptions, description="train.method grpo: its options.")

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        return registered("selftaught.train.round:TRAINERS", method)


class CurriculumConfig(_Section):
    mode: str = Field(
        "fixed", description="Which problems each round trains on. `fixed`: the same distribution every round "
        "(at curriculum.level when set); `threshold`: each source's level moves up when its recent training accuracy "
        "is above `success` and down below `failure`; `bandit` (SEC): arms are (source, level) pairs drawn by a "
        "Boltzmann choice over learned values Q, the reward of an arm being the mean absolute advantage of its "
        "samples; `self_label`: the model labels problems at its frontier level; or a user's `Curriculum` class "
        "as `module:object`.")
    level: int | None = Field(None, ge=0, description="`fixed`: the level every levelled source is drawn at (None: "
                              "the sources' own settings); `threshold`: the start level (None: each source's lowest).")
    levels: list[int] | None = Field(None, description="The levels a levelled source offers when its mixture entry "
                                     "gives none (None: every level it has: reasoning-gym's curriculum levels, the "
                                     "distinct values of a JSONL level field).")
    eval_levels: list[int] = Field(default_factory=list, description="Levels whose held-out problems (task.n_eval "
                                   "each, per levelled source) are evaluated every round, reported per arm as "
                                   "`eval/arm/<source>@L<level>/accuracy` and as `eval/highest_level_50` (empty: "
                                   "`fixed` evaluates where it trains, at curriculum.level or as the task is "
                                   "configured; `threshold` and `bandit` every level their sources offer).")
    window: int = Field(1, ge=1, description="`threshold`: rounds of training samples at the current level whose "
                        "accuracy decides a move (the history restarts when the level changes).")
    success: float = Field(0.7, ge=0.0, le=1.0, description="`threshold`: level up above this accuracy.")
    failure: float = Field(0.1, ge=0.0, le=1.0, description="`threshold`: level down below this accuracy.")
    alpha: float = Field(0.5, gt=0.0, le=1.0, description="`bandit`: TD step size, Q <- (1 - alpha) Q + alpha r.")
    temperature: float = Field(0.5, gt=0.0, description="`bandit`: Boltzmann temperature of the arm choice "
                               "(p ~ exp(Q / temperature)); SEC used 0.2-1.0.")
    start_level: int = Field(2, ge=1, description="`self_label`: the first frontier level (the model was trained on "
                             "the levels below it).")
    max_level: int = Field(100, ge=1, description="`self_label`: the frontier stops here.")
    replay: float = Field(0.25, ge=0.0, lt=1.0, description="`self_label`: fraction of each round's training problems "
                          "drawn from the levels below the frontier (self-labelled too), against forgetting them.")
    advance_share: float = Field(0.75, gt=0.0, le=1.0, description="`self_label`: a frontier problem counts as "
                                 "reliable when its majority answer (a well-formed one: the task's length/format "
                                 "filter) has at least this share of its samples.")
    advance_at: float = Field(0.5, gt=0.0, le=1.0, description="`self_label`: the frontier moves up one level after a "
                              "round in which at least this fraction of its problems were reliable.")

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, mode: str) -> str:
        return registered("selftaught.curriculum:CURRICULA", mode)

    @field_validator("levels", "eval_levels")
    @classmethod
    def _levels_not_negative(cls, levels: list[int] | None) -> list[int] | None:
        if any(level < 0 for level in levels or []):
            raise ValueError(f"levels are >= 0, got {levels}")
        return levels

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> "CurriculumConfig":
        if self.failure >= self.success:
            raise ValueError(f"curriculum.failure ({self.failure}) must be below curriculum.success ({self.success})")
        if self.mode == "self_label" and self.start_level > self.max_level:
            raise ValueError(f"self_label: start_level {self.start_level} is above max_level {self.max_level}")
        return self
class JudgeConfig(_Section):
    m: int = Field(4, ge=1, description="Rationale-then-verdict judgments sampled per answer (scorer judge_rationale's "
                   "score is the share of parsed verdicts saying `correct`).")
    temperature: float = Field(0.7, ge=0.0, description="Sampling temperature of the judgments.")
    max_new_tokens: int = Field(64, ge=8, description="Most tokens of one judgment (a short rationale, then "
                                "`Verdict: correct|incorrect`); a judgment cut before its verdict is a parse failure.")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="select.rule judge: a sample counts as correct when the "
                             "share of its judgments saying `correct` is at least this.")
    rounds: int = Field(2, ge=0, description="`selftaught judge-train`: self-rationalization rounds (each: judge, "
                        "pair, DPO; round 0 only measures the starting judge).")
    n_answers: int = Field(64, ge=1, description="`selftaught judge-train`: training problems answered per round for "
                           "the judge's training pairs (see judge.balanced).")
    n_eval_answers: int = Field(64, ge=1, description="`selftaught judge-train`: eval problems whose policy answers "
                                "(see judge.balanced) every round's judge is measured on (AUROC, accuracy).")
    balanced: bool = Field(True, description="`selftaught judge-train`: sample sampling.n answers per problem and "
                           "keep at most one right and one wrong answer of each (the verifier decides), so the judge "
                           "sees both kinds even when the policy is mostly wrong; false: one answer per problem.")
    pairs_per_answer: int = Field(1, ge=1, description="`selftaught judge-train`: most (agreeing, disagreeing) "
                                  "judgment pairs per answer.")
    balance_verdicts: bool = Field(False, description="`selftaught judge-train`: keep as many pairs whose chosen "
                                   "judgment says `correct` as pairs whose chosen judgment says `incorrect` (a seeded "
                                   "subset of the larger side). When most answers are wrong, most agreeing judgments "
                                   "say `incorrect`, and unbalanced pairs can teach that verdict rather than checking.")


class LoopConfig(_Section):
    rounds: int = Field(2, ge=0, description="Self-improvement rounds after round 0 (the base model's evaluation).")
    kind: Literal["rft", "rest_em", "bstar"] = Field(
        "rft", description="`rft`: each round trains the last round's model; `rest_em`: each round trains the base "
        "model on the latest selection; `bstar`: rft with temperature (and threshold) re-chosen every round by "
        "the balance score on a probe subset.")
    keep_checkpoints: Literal["last", "all"] = Field("last", description="`last` deletes older round checkpoints to bound disk use.")
    fresh_problems: bool = Field(True, description="Draw new training problems each round (else reuse round 1's).")


def http_urls(urls: list[str]) -> list[str]:
    """The base URLs unchanged, or a ValueError naming those that are not http(s)."""
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad:
        raise ValueError(f"base URLs start with http:// or https://, got {bad}")
    return urls


class TeacherConfig(_Section):
    enabled: bool = Field(False, description="Sources without a problem generator (JSONL / datasets files): a "
                          "teacher model on an OpenAI-compatible server writes variants of the failing problems, "
                          "and solves each variant `n_votes` times; a variant is kept when its answers agree.")
    base_urls: list[str] = Field(["http://127.0.0.1:8000/v1"], min_length=1, description="Base URLs of the "
                                 "teacher's OpenAI-compatible servers (usually ending in /v1).")
    model: str | None = Field(None, description="The teacher's served model name (required when enabled).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the teacher's API key.")
    n_votes: int = Field(4, ge=1, description="Times the teacher solves each variant; the majority answer becomes "
                         "the variant's gold answer.")
    agreement: float = Field(0.75, gt=0.0, le=1.0, description="Least share of the teacher's solutions that must "
                             "agree (under task.answer_match: numbers by value, formulas through math-verify) for a "
                             "variant to be kept; the answer the teacher wrote with the variant must agree too.")
    temperature: float = Field(0.8, ge=0.0, description="The teacher's sampling temperature (variants and solutions).")
    max_new_tokens: int = Field(512, ge=1, description="Most tokens of one teacher completion.")
    timeout_s: float = Field(300.0, gt=0.0, description="Read timeout of one teacher request, in seconds.")

    _http_urls = field_validator("base_urls")(classmethod(lambda cls, urls: http_urls(urls)))


class SynthesisConfig(_Section):
    enabled: bool = Field(False, description="Weakness-driven synthesis (SwS): each round, after the training "
                          "attempts are scored, make new training problems near the problems the model fails, "
                          "sample them with the same model, keep those inside `band`, and train on them with the "
                          "round's own problems (rounds/NNN/synth.jsonl; reused on resume). Also writes the failure "
                          "memory (failures.jsonl).")
    memory: bool = Field(False, description="Write the failure memory (failures.jsonl: each training problem's "
                         "accuracy per round, its slope, its arm and generating parameters) even with synthesis "
                         "off, e.g. to compare runs with and without it.")
    n_problems: int = Field(16, ge=1, description="Synthesised problems kept per round at most, shared among the arms "
                            "in proportion to each arm's failure rate in the round.")
    candidates: float = Field(2.0, ge=1.0, description="Candidates made per problem to keep (the band filter drops "
                              "some): an arm with a budget of b makes ceil(b * candidates).")
    fail_below: float = Field(0.5, gt=0.0, le=1.0, description="A training problem is failing when the share of its "
                              "samples scored correct in its latest round is below this and its accuracy is not "
                              "rising over the rounds it was seen in (slope <= 0).")
    band: list[float] = Field([0.125, 0.875], min_length=2, max_length=2, description="[low, high]: a candidate is "
                              "kept when the share of its `k` samples scored correct lies in this interval (solved "
                              "sometimes, not always).")
    k: int | None = Field(None, ge=1, description="Samples per candidate for the band filter (None: sampling.n); "
                          "they are the kept problems' training attempts.")
    teacher: TeacherConfig = Field(default_factory=TeacherConfig, description="Variants written by a teacher model "
                                   "(sources without a generator).")

    @field_validator("band")
    @classmethod
    def _band(cls, band: list[float]) -> list[float]:
        low, high = band
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError("the band is [low, high] with 0 <= low <= high <= 1, e.g. [0.125, 0.875]")
        return band

    @model_validator(mode="after")
    def _teacher_model(self) -> "SynthesisConfig":
        if self.teacher.enabled and not self.teacher.model:
            raise ValueError("synthesis.teacher.enabled needs synthesis.teacher.model (the served model name)")
        return self


class ScratchConfig(_Section):
    positions: Literal["nope", "rope"] = Field(
        "nope", description="`selftaught scratch`: `nope`, no positional encoding (a SmolLM3, the Llama block with "
        "rope switched off in every layer, as Lee et al. 2025); `rope`, a LlamaForCausalLM with rotary positions.")
    layers: int = Field(2, ge=1, description="`selftaught scratch`: transformer blocks.")
    hidden_size: int = Field(128, ge=8, description="`selftaught scratch`: model width.")
    heads: int = Field(4, ge=1, description="`selftaught scratch`: attention heads (hidden_size divisible by it).")
    intermediate_size: int | None = Field(None, ge=1, description="`selftaught scratch`: MLP width (None: 4 x hidden).")
    max_positions: int = Field(256, ge=8, description="`selftaught scratch`: longest sequence the config declares.")
    min_level: int = Field(1, ge=1, description="`selftaught scratch`: the easiest level trained on (gold answers).")
    max_level: int = Field(8, ge=1, description="`selftaught scratch`: the hardest level trained on.")
    n_train: int = Field(20000, ge=1, description="`selftaught scratch`: training problems, levels drawn uniformly.")
    epochs: float = Field(1.0, gt=0.0, description="`selftaught scratch`: passes over them.")
    learning_rate: float = Field(1e-3, gt=0.0, description="`selftaught scratch`: peak learning rate.")
    batch_size: int = Field(64, ge=1, description="`selftaught scratch`: training batch size.")
    warmup_ratio: float = Field(0.05, ge=0.0, lt=1.0, description="`selftaught scratch`: warm-up fraction.")
    lr_scheduler: str = Field("cosine", description="`selftaught scratch`: transformers LR scheduler name.")
    n_eval: int = Field(64, ge=1, description="`selftaught scratch`: held-out problems per level in its report.")

    @model_validator(mode="after")
    def _shape(self) -> "ScratchConfig":
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by heads {self.heads}")
        if self.min_level > self.max_level:
            raise ValueError(f"min_level {self.min_level} is above max_level {self.max_level}")
        return self


class VerifierConfig(_Section):
    kinds: list[Literal["outcome", "prm"]] = Field(
        default_factory=list, description="Learned verifiers trained each round (empty: none, the default): `outcome` "
        "(a one-logit head on a causal LM, trained on the round's scored attempts, correct vs not; saved to "
        "rounds/NNN/verifier/) and `prm` (a process reward model trained on the round's step_labels.jsonl, which "
        "the loop writes first: verifier.step_labels; rounds/NNN/prm/). Each round's samples get `stats` `verifier`, "
        "`prm` and `prm_min` from the newest verifier trained before them (select.rule threshold with select.score "
        "verifier, or rule prm_filter).")
    data: Literal["round", "pool"] = Field(
        "round", description="What the outcome verifier learns from: `round` (each round's own attempts; round r "
        "scores with round r-1's verifier, round 1 with its own), `pool` (once, in round 1, on `pool_size` labelled "
        "training problems x sampling.n attempts of the base model; reused every round, so selection with it "
        "needs no answer of the round's problems).")
    pool_size: int = Field(64, ge=1, description="data pool: labelled problems sampled for the verifier's training pool.")
    model: str | None = Field(None, description="The causal LM the verifier heads sit on (None: the run's `model`).")
    aggregation: Literal["min", "prod", "last"] = Field(
        "min", description="A PRM's solution score from its step scores (stats `prm`): weakest step, product, last.")
    epochs: float = Field(1.0, gt=0.0, description="Passes over the verifier's training records.")
    learning_rate: float = Field(3e-5, gt=0.0, description="Verifier learning rate (AdamW, constant).")
    batch_size: int = Field(8, ge=1, description="Verifier training batch size.")
    max_length: int = Field(512, ge=8, description="Longest verifier input in tokens (later steps are dropped).")
    freeze_embeddings: bool = Field(True, description="Keep the input embeddings fixed while the verifier trains "
                                    "(less memory and optimizer state; the head and the blocks train).")
    step_labels: Literal["auto", "always", "never"] = Field(
        "auto", description="Monte-Carlo step labels of the round's attempts, written to rounds/NNN/step_labels.jsonl "
        "before the verifiers train (the PRM's data; the records `selftaught label-steps` writes): `auto` when "
        "verifier.kinds has `prm`, `always` (also without a PRM), `never` (a PRM then trains only on a "
        "step_labels.jsonl placed in the round by hand). Cost: label_k continuations per step of each labelled "
        "attempt, sampled by the model that sampled the round at sampling.temperature / top_p / max_new_tokens.")
    label_samples: int = Field(64, ge=1, description="Most attempts given step labels per round: a seeded draw, "
                               "half correct and half not where the round has both (the rest from the other side).")
    label_k: int = Field(8, ge=1, description="Continuations sampled from each step's prefix for its label "
                         "(Math-Shepherd's N); also `selftaught label-steps --k`'s default.")
    label_search: Literal["all", "binary"] = Field(
        "all", description="Which step prefixes are continued: `all` (every step: a soft and a hard label each) or "
        "`binary` (OmegaPRM's binary search for the first wrong step of each incorrect attempt: fewer prefixes, "
        "labels up to that step; correct attempts' steps all right); also `selftaught label-steps --search`'s default.")
    prm_labels: Literal["hard", "soft"] = Field(
        "hard", description="What the PRM learns per step: `hard` (right when any continuation reached the gold "
        "answer) or `soft` (the share that did; a step the binary search did not probe keeps its hard label).")


class ServerConfig(_Section):
    base_urls: list[str] = Field(["http://127.0.0.1:8000/v1"], min_length=1, description="backend openai: base URLs "
                                 "of OpenAI-compatible servers (vLLM, SGLang, llama.cpp), usually ending in /v1; "
                                 "requests go to the least busy one.")
    model: str | None = Field(None, description="backend openai: the served model name sent with each request "
                              "(None: the recipe's `model`; `default` becomes HuggingFaceTB/SmolLM2-135M-Instruct).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key (sent as a "
                             "Bearer token; unset: no key). The key itself never goes in a recipe or a log.")
    max_concurrency: int = Field(16, ge=1, description="Most requests in flight at once, over all base URLs.")
    timeout_s: float = Field(300.0, gt=0.0, description="Read timeout: seconds to wait for a server's answer to a "
                             "request once connected (each attempt).")
    connect_timeout_s: float = Field(10.0, gt=0.0, description="Seconds to wait for a server to accept a connection "
                                     "(each attempt).")
    deadline_s: float | None = Field(None, gt=0.0, description="Most seconds one batch of requests (a round's "
                                     "sampling or evaluation) may take, retries included; past it the batch fails "
                                     "with a message and nothing is written (None: no limit).")
    follows_checkpoints: bool = Field(False, description="The servers load each round's checkpoint by themselves; "
                                      "without this or reload_command, a loop with rounds > 0 is refused (later rounds "
                                      "would sample the starting model).")
    max_retries: int = Field(4, ge=0, description="Retries of a request after a connection error, a timeout, "
                             "HTTP 408/409/429 or 5xx (other errors fail at once).")
    backoff_s: float = Field(1.0, ge=0.0, description="First retry delay; it doubles each retry (with jitter).")
    use_n: bool = Field(True, description="Ask for all of a prompt's samples in one request (the API's `n`); "
                        "false: one request per sample.")
    logprobs: bool = Field(True, description="Ask for the sampled tokens' log-probs (fills Sample.logprob).")
    reload_command: str | None = Field(None, description="Shell command run whenever the loop needs the server to "
                                       "serve another round's model, `{checkpoint}` replaced by its folder (for "
                                       "example a script that restarts `vllm serve {checkpoint}`); None: the server "
                                       "is left as it is.")
    reload_timeout_s: float = Field(900.0, gt=0.0, description="Seconds allowed for reload_command plus the servers "
                                    "answering again.")

    _http_urls = field_validator("base_urls")(classmethod(lambda cls, urls: http_urls(urls)))


class Config(_Section):
    name: str = Field("default", description="Run name; the run directory defaults to runs/NAME.")
    model: str = Field("default", description="`default` (SmolLM2-135M-Instruct), a Hub id or a local folder.")
    backend: str = Field(
        "hf", description="Generation backend: `hf` (transformers generate), `fast` (selftaught's static-cache "
        "sampler: CUDA graphs on a GPU, shared prompt prefix on a CPU), `openai` (OpenAI-compatible servers, see "
        "`server`), `vllm` (in-process vLLM; `pip install selftaught[vllm]`), or a user's factory "
        "`(cfg, model, tokenizer) -> Generator` as `module:object`.")
    fast_attention: Literal["sdpa", "triton"] = Field(
        "sdpa", description="backend fast: decode attention. `sdpa` (torch's kernels, every device) or `triton` "
        "(a Triton kernel, CUDA GPU: each row reads only its own context; 1.2-1.3x sdpa's tokens/s at batch "
        "256-1024 on an H100, the same greedy agreement with hf on the default task; no shared-prefix path).")
    device: str = Field("auto", description="`auto`, `cpu`, `cuda` or `cuda:N`.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="Model dtype; auto = bf16 on GPU, fp32 on CPU.")
    seed: int = Field(0, description="Seed for problem generation, sampling and training.")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch (None: torch's default).")
    task: TaskConfig = Field(default_factory=TaskConfig, description="Where problems and answers come from.")
    prompt: PromptConfig = Field(default_factory=PromptConfig, description="The form of the model's input.")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig, description="Training-attempt sampling.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="Held-out greedy evaluation.")
    select: SelectConfig = Field(default_factory=SelectConfig, description="Choosing training samples.")
    control: ControlConfig = Field(default_factory=ControlConfig, description="The B-STaR controller (loop.kind: bstar).")
    probe: ProbeConfig = Field(default_factory=ProbeConfig, description="Exploration metrics on a fixed held-out set.")
    train: TrainConfig = Field(default_factory=TrainConfig, description="Fine-tuning each round.")
    loop: LoopConfig = Field(default_factory=LoopConfig, description="The round loop.")
    curriculum: CurriculumConfig = Field(default_factory=CurriculumConfig, description="Which problems each round "
                                         "trains on, chosen from the model's own results (levels, mixtures).")
    judge: JudgeConfig = Field(default_factory=JudgeConfig, description="Judges that write a rationale then a "
                               "verdict: self-rewarding pairs (select.rule judge) and `selftaught judge-train`.")
    server: ServerConfig = Field(default_factory=ServerConfig, description="OpenAI-compatible servers (backend openai).")
    synthesis: SynthesisConfig = Field(default_factory=SynthesisConfig, description="Problems made near the "
                                       "model's failures (failure memory, synthesis).")
    scratch: ScratchConfig = Field(default_factory=ScratchConfig, description="A model built from a config and "
                                   "trained from scratch by `selftaught scratch` (written to the recipe's `model` folder).")
    verifier: VerifierConfig = Field(default_factory=VerifierConfig, description="Learned verifiers and PRMs trained "
                                     "in the loop (off unless verifier.kinds is set).")

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, backend: str) -> str:
        return registered("selftaught.models.backends:BACKENDS", backend)

    # Cross-key rules: combinations that cannot work, refused when the config loads (run and eval alike),
    # every broken rule reported at once.
    @model_validator(mode="after")
    def _cross_key_rules(self) -> "Config":
        broken = cross_key_problems(self)
        if broken:
            raise PydanticCustomError(CROSS_KEY, "{problems}", {"problems": "\n".join(broken)})
        return self


CROSS_KEY = "cross_key"  # pydantic error type of the rules below


def cross_key_problems(cfg: Config) -> list[str]:
    """Every combination of keys in `cfg` that cannot work, one message each (empty: none)."""
    method, rule, pairs = cfg.train.method, cfg.select.rule, cfg.select.pairs
    out = []
    if cfg.select.rationalize and rule != "correct":
        out.append("select.rationalize needs select.rule: correct (rationales are kept when they reach the gold "
                   "answer).")
    if method == "dpo" and rule not in ("correct", "majority", "judge"):
        out.append(f"train.method dpo pairs a right with a wrong sample: select.rule must be `correct` "
                   f"(verifier), `majority` (pseudo-label) or `judge` (the policy's own judge), got `{rule}`.")
    if rule == "judge" and method != "dpo":
        out.append(f"select.rule judge (self-rewarding: the policy judges its own candidates) builds DPO pairs: "
                   f"it needs train.method dpo, got {method}.")
    if pairs != "answer" and method != "dpo":
        out.append(f"select.pairs {pairs} builds DPO pairs: it needs train.method dpo, got {method}.")
    if pairs != "answer" and rule != "correct":
        out.append(f"select.pairs {pairs}: revisions are judged by the verifier, so select.rule must be "
                   f"`correct`, got `{rule}`.")
    if method != "sft" and cfg.select.rationalize:
        out.append(f"select.rationalize adds SFT records; it does not apply to train.method {method}.")
    if method == "grpo" and cfg.loop.kind == "bstar":
        out.append("loop.kind bstar re-chooses the temperature of the selection step each round; grpo samples its "
                   "own groups at sampling.temperature: use loop.kind rft or rest_em.")
    if method == "grpo" and cfg.sampling.n < 2:
        out.append("train.method grpo compares completions within a group: sampling.n must be >= 2.")
    if cfg.curriculum.mode == "self_label" and rule != "majority":
        out.append(f"curriculum.mode self_label trains on labels the model gives itself: select.rule must be "
                   f"`majority` (the gold answers only measure the labels), got `{rule}`.")
    out.extend(_score_problem(cfg))
    out.extend(_search_problems(cfg))
    if cfg.synthesis.enabled and cfg.task.path and not cfg.synthesis.teacher.enabled:
        out.append("synthesis.enabled on a JSONL/datasets task (task.path): such a source has no problem generator, "
                   "so synthesis needs a teacher model: set synthesis.teacher.enabled and synthesis.teacher.model.")
    return out


def _score_problem(cfg: Config) -> list[str]:
    """select.score names a per-sample score the built-in backends write; a user's own backend or rule
    (`module:object`) may bring its own keys, so it is not checked then."""
    score, kinds = cfg.select.score, cfg.verifier.kinds
    needs = {"verifier": "outcome", "prm": "prm", "prm_min": "prm"}
    if cfg.select.rule == "prm_filter" and "prm" not in kinds:
        return ["select.rule prm_filter keeps correct samples by their PRM step scores: add `prm` to verifier.kinds."]
    if score in needs:
        return [] if needs[score] in kinds else [
            f"select.score `{score}` is a learned verifier's score: add `{needs[score]}` to verifier.kinds."]
    if score in SAMPLE_SCORES or ":" in cfg.backend or ":" in cfg.select.rule:
        return []
    close = difflib.get_close_matches(score, SAMPLE_SCORES, n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return [f"select.score `{score}` is not a per-sample score.{hint} Known: {', '.join(SAMPLE_SCORES)} "
            "(`reward`: the verifier's; the others: per-token statistics the backends write)."]


SEARCH_FROM_SAMPLING = ("n", "temperature", "top_p", "max_new_tokens")  # search options sampling.* sets


def _search_problems(cfg: Config) -> list[str]:
    """Key combinations sampling.strategy (a search for the training attempts) cannot work with; its options
    themselves, the task and the backend are checked when the loop starts (loop/search_rollouts.py)."""
    s = cfg.sampling
    if s.strategy == "sample":
        return [] if not s.search else ["sampling.search holds options of a search strategy: set sampling.strategy "
                                        "beam_search or dvts, or remove sampling.search."]
    head, out = f"sampling.strategy {s.strategy}", []
    out += [f"sampling.search.{k}: the search takes it from sampling.{k}; set that instead." for k in
            SEARCH_FROM_SAMPLING if k in s.search]
    if s.temperature <= 0:
        out.append(f"{head} grows different beams from each step by sampling: sampling.temperature must be > 0.")
    if s.token_budget is not None:
        out.append(f"{head} with sampling.token_budget: a search's cost is set by sampling.n and the search options, "
                   "not a token budget; remove one of them.")
    if cfg.train.method == "grpo":
        out.append(f"{head}: train.method grpo samples its own groups while training, so the search's attempts would "
                   "feed only the metrics; use train.method sft or dpo.")
    if cfg.loop.kind == "bstar":
        out.append(f"{head}: loop.kind bstar chooses the temperature from plain samples on a probe, not from the "
                   "search; use loop.kind rft or rest_em.")
    if s.search.get("prm") == "learned_prm" and "prm" not in cfg.verifier.kinds:
        out.append("sampling.search.prm learned_prm reads the PRM the loop trains each round: add `prm` to "
                   "verifier.kinds (or use prm step_logprob).")
    return out


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Valid field names of the section at `loc` (for did-you-mean)."""
    cls: Any = model
    for part in loc[:-1]:
        field = cls.model_fields.get(part) if isinstance(part, str) else None
        ann = getattr(field, "annotation", None)
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        cls = ann
    return list(cls.model_fields)


def _describe(err: dict, source: str) -> str:
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in loc)
    if err["type"] == "extra_forbidden" and key in MOVED_KEYS:
        return f"{source}: `{key}` moved: write `{MOVED_KEYS[key]}` instead."
    if err["type"] == CROSS_KEY:
        return "\n".join(f"{source}: {problem}" for problem in err["ctx"]["problems"].split("\n"))
    if err["type"] == "extra_forbidden":
        names = _fields_at(Config, loc)
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        hint = f" Did you mean `{'.'.join(map(str, loc[:-1] + (close[0],)))}`?" if close else ""
        # (full dotted key in the hint, so not registry.did_you_mean)
        return f"{source}: unknown key `{key}`.{hint} Valid keys here: {', '.join(names)}."
    msg = err["msg"].removeprefix("Value error, ")
    return f"{source}: `{key}`: {msg} (got {err.get('input')!r})."


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value, for example --set loop.rounds=3.")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set each `a.b=value` in `data`; a number indexes a list (`task.mixture.1.weight=2`)."""
    for text in overrides:
        path, value = parse_override(text)
        node: Any = data
        for part, after in zip(path[:-1], path[1:]):
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
            if not isinstance(node, dict) and not (isinstance(node, list) and after.isdigit() and int(after) < len(node)):
                raise ConfigError(f"--set {text!r}: `{part}` is not a section.")
        node[int(path[-1]) if isinstance(node, list) else path[-1]] = value
    return data


TASK_SOURCES = ("name", "path", "callable", "mixture")


def replace_task_source(data: dict[str, Any], overrides: list[str]) -> str | None:
    """A task source given on the command line replaces the recipe's: when the overrides set exactly one of
    task.name / task.path / task.callable, the recipe's other source keys are removed from `data`, and so are
    its `task.options` (reasoning-gym options, tied to the recipe's dataset; options given on the command line
    still apply). Returns a note naming what was replaced, or None when nothing was (the recipe's own source
    key overridden, options kept). Two source keys on the command line are left alone (validation then asks
    for exactly one).

    >>> recipe = {"task": {"name": "basic_arithmetic", "options": {"max_digits": 2}, "n_eval": 8}}
    >>> replace_task_source(recipe, ["task.path=my.jsonl"])
    "task.path given on the command line: replacing the recipe's task.name basic_arithmetic and its task.options"
    >>> recipe
    {'task': {'n_eval': 8}}
    >>> replace_task_source({"task": {"name": "gcd"}}, ["task.name=lcm"]) is None  # a plain override
    True
    """
    given = {}
    for text in overrides:
        path, value = parse_override(text)
        if path[0] == "task" and len(path) == 2 and path[1] in TASK_SOURCES and value is not None:
            given[path[1]] = value
    task = data.get("task")
    if len(given) != 1 or not isinstance(task, dict):
        return None
    (key, value), = given.items()
    changed = {k: task[k] for k in TASK_SOURCES if task.get(k) is not None and not (k == key and task[k] == value)}
    drop_options = bool(task.get("options") and changed)
    if not drop_options and set(changed) <= {key}:
        return None  # a plain override of the recipe's own source key
    for k in TASK_SOURCES:
        if k != key:
            task.pop(k, None)
    parts = [f"task.{k} {v}" for k, v in changed.items()]
    if drop_options:
        task.pop("options")
        parts.append("its task.options" if parts else "task.options")
    head = ", ".join(parts[:-1])
    return (f"task.{key} given on the command line: replacing the recipe's "
            f"{head + ' and ' if head else ''}{parts[-1]}")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                note: Callable[[str], None] | None = None) -> Config:
    """Load and validate a recipe (None: all defaults), then apply `key=value` overrides. A task source among
    the overrides replaces the recipe's (`replace_task_source`); `note` receives the sentence saying so."""
    data: dict[str, Any] = {}
    source = str(path) if path else "defaults"
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"Recipe {p} not found. Recipes shipped with selftaught are in recipes/.")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: a recipe is a mapping of keys, got {type(data).__name__}.")
    if overrides:
        replaced = replace_task_source(data, overrides)
        if replaced and note is not None:
            note(replaced)
        data = apply_overrides(data, overrides)
        source += " (with --set overrides)"
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError("\n".join(_describe(err, source) for err in e.errors())) from None
    sources = [x for x in (cfg.task.name, cfg.task.path, cfg.task.callable, cfg.task.mixture) if x]
    if len(sources) != 1:
        raise ConfigError(f"{source}: set exactly one of task.name, task.path, task.callable, task.mixture "
                          f"(got {len(sources)}).")
    return cfg


def dump_config(cfg: Config) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
