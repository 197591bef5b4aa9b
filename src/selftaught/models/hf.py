"""`HFGenerator`: batched sampling with transformers `generate`, plus per-token confidence stats.

Per sample it reports, over the completion tokens up to and including EOS:

- `logprob`: the sum of log p(token) of the chosen tokens under the model's *raw* distribution
  (log-softmax of the logits at temperature 1, before temperature / top-p), so log-probs of samples
  drawn at different temperatures compare, and match a plain forward pass over prompt + completion;
- `stats["mean_logprob"]`: `logprob / n_tokens`;
- `stats["mean_entropy"]`: the mean over tokens of the raw distribution's entropy, in nats;
- `stats["self_certainty"]`: Kang et al. 2025, the mean over tokens of KL(U || p) for U uniform over the
  V logits: `-1/(n*V) * sum_tokens sum_v log(V * p_v)` = mean_tokens(-log V - mean_v log p_v). 0 for a
  uniform distribution, larger when more confident.

Generation ends at EOS, at a stop string of `params.stop` (the text cut before it;
`stopping.StopOnText`), or at `max_new_tokens` (finish_reason "length").

The stats are computed step by step inside generation (a logits processor that sees the raw float32
logits), so only one [batch, vocab] distribution is held at a time, never [batch, steps, vocab].
Sampling uses exactly `temperature` and `top_p` (top-k off, no repetition penalty), whatever the
model's own generation_config suggests, so the recorded params describe the samples.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, StoppingCriteriaList

from ..core.errors import SelftaughtError
from ..core.progress import progress
from ..core.protocols import check_generate_args
from ..core.records import Prompt, Sample, SamplingParams
from ..tasks.formats import chat_text, format_prompt, resolve_prompt_format
from .backends import BACKENDS
from .stopping import StopOnText, split_stops, stop_cut, suspect_tokens


def token_stats(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(log-probs, entropy, self-certainty) of the distributions `softmax(logits)` over the last axis.

    >>> _, ent, sc = token_stats(torch.zeros(1, 4))   # uniform over 4 tokens
    >>> round(ent.item(), 4), round(sc.item(), 4)       # entropy log 4, self-certainty 0
    (1.3863, 0.0)
    """
    logp = torch.log_softmax(logits.float(), dim=-1)
    p = logp.exp()
    entropy = -torch.where(p > 0, p * logp, 0.0).sum(-1)
    self_certainty = -math.log(logp.shape[-1]) - logp.mean(-1)
    return logp, entropy, self_certainty


class _StepStats(LogitsProcessor):
    """Records per-step stats from the raw logits; leaves the scores untouched."""

    def __init__(self) -> None:
        self.entropy: list[torch.Tensor] = []
        self.self_certainty: list[torch.Tensor] = []
        self.logprob: list[torch.Tensor] = []
        self._prev: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._take(input_ids[:, -1:])  # the token chosen at the previous step
        self._prev, ent, sc = token_stats(scores)
        self.entropy.append(ent)
        self.self_certainty.append(sc)
        return scores

    def _take(self, chosen: torch.Tensor) -> None:
        if self._prev is not None:
            self.logprob.append(self._prev.gather(1, chosen).squeeze(1))
            self._prev = None

    def finish(self, completion: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """[B, T] tensors of (chosen-token logprob, entropy, self-certainty)."""
        self._take(completion[:, -1:])
        return tuple(torch.stack(x, dim=1).cpu() for x in (self.logprob, self.entropy, self.self_certainty))


class HFGenerator:
    """Samples completions with a transformers causal LM (implements `core.protocols.Generator`).

    The tokenizer is not changed (batches are left-padded here, whatever its `padding_side`); the pad
    id is its pad token, else the first EOS id. `prompt_format` (`auto`, `chat`, `plain`; recipe key
    `prompt.format`) decides how chat-message prompts become text (`tasks.formats`); `auto` picks
    `plain` for a tokenizer without a chat template. The resolved name is `self.prompt_format`.

    `batch_size` counts sequences (prompts x n). Sequences are sorted by prompt length so each batch
    pads little, then results are put back in prompt order. Batch b is seeded with `params.seed + b`,
    so the same seed, prompts and batch size give the same samples.
    """

    backend_name = "hf"  # recorded with the samples it makes (models.backends.generator_source)

    def __init__(self, model, tokenizer, batch_size: int = 64, device: str | torch.device | None = None,
                 progress: bool = False, prompt_format: str = "auto") -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model, self.tokenizer, self.batch_size, self.progress = model, tokenizer, batch_size, progress
        self.device = torch.device(device) if device is not None else model.device
        self.eos_ids = _eos_ids(model, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]
        self._suspects: dict[tuple[str, ...], list[int]] = {}
        self.prompt_format = resolve_prompt_format(prompt_format, tokenizer)

    def encode(self, prompts: Sequence[Prompt]) -> list[list[int]]:
        """Token ids per prompt: chat messages through the chat template (format `chat`) or as plain
        text (`plain`, with the tokenizer's special tokens such as BOS); strings as they are."""
        texts, special = [], []
        for p in prompts:
            p = format_prompt(p, self.prompt_format)
            if isinstance(p, str):
                texts.append(p)
                special.append(True)
            else:
                texts.append(chat_text(self.tokenizer, list(p)))  # a continuation ends in its assistant text
                special.append(False)  # the template already holds the special tokens
        ids: list[list[int]] = [[] for _ in prompts]
        for flag in (True, False):
            idx = [i for i, s in enumerate(special) if s == flag]
            if idx:
                enc = self.tokenizer([texts[i] for i in idx], add_special_tokens=flag)["input_ids"]
                for i, e in zip(idx, enc):
                    ids[i] = list(e)
        return ids

    def generate(self, prompts: list[Prompt], params: SamplingParams, n: int = 1,
                 problem_ids: list[str] | None = None) -> list[list[Sample]]:
        """n samples for each prompt, in prompt order (greedy: one decode, copied n times)."""
        check_generate_args(prompts, params, n, problem_ids)
        ids = self.encode(prompts)
        stops = split_stops(self.tokenizer, params.stop)
        runs = 1 if params.greedy else n
        seqs = [(i, j) for i in range(len(prompts)) for j in range(runs)]
        order = sorted(range(len(seqs)), key=lambda k: (-len(ids[seqs[k][0]]), k))
        batches = [order[s:s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        outs: dict[tuple[int, int], dict] = {}
        with progress("Generating", len(seqs), self.progress, unit="seq") as advance:
            for b, batch in enumerate(batches):
                results = self._generate_batch([ids[seqs[k][0]] for k in batch], params, params.seed + b, stops)
                outs.update({seqs[k]: r for k, r in zip(batch, results)})
                advance(len(batch))
        record = {"temperature": params.temperature, "top_p": params.top_p,
                  "max_new_tokens": params.max_new_tokens, "seed": params.seed}
        pids = problem_ids if problem_ids is not None else [str(i) for i in range(len(prompts))]
        return [[_sample(pids[i], j, record, outs[(i, j % runs)]) for j in range(n)] for i in range(len(prompts))]

    def _generation_config(self, params: SamplingParams,
                           stops: tuple[list[int], tuple[str, ...]] = ([], ())) -> GenerationConfig:
        # Neutral values override whatever the model's generation_config.json sets (e.g. top_k=20).
        sampling = {} if params.greedy else {"temperature": params.temperature, "top_p": params.top_p, "top_k": 0,
                                             "typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0}
        return GenerationConfig(
            max_new_tokens=params.max_new_tokens, do_sample=not params.greedy, repetition_penalty=1.0,
            no_repeat_ngram_size=0, min_length=0, eos_token_id=self.eos_ids + stops[0], pad_token_id=self.pad_id,
            use_cache=True, **sampling)

    def _stop_criteria(self, stops: tuple[str, ...], start: int) -> StoppingCriteriaList:
        if not stops:
            return StoppingCriteriaList()
        if stops not in self._suspects:
            self._suspects[stops] = suspect_tokens(self.tokenizer, stops, len(self.tokenizer))
        return StoppingCriteriaList([StopOnText(self.tokenizer, stops, self._suspects[stops], start)])

    def _generate_batch(self, prompt_ids: list[list[int]], params: SamplingParams, seed: int,
                        stops: tuple[list[int], tuple[str, ...]] = ([], ())) -> list[dict]:
        width = max(len(p) for p in prompt_ids)
        input_ids = torch.full((len(prompt_ids), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompt_ids), width), dtype=torch.long)
        for r, p in enumerate(prompt_ids):  # left padding
            input_ids[r, width - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[r, width - len(p):] = 1
        stats = _StepStats()
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.inference_mode(), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            seqs = self.model.generate(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                                       generation_config=self._generation_config(params, stops),
                                       logits_processor=LogitsProcessorList([stats]),
                                       stopping_criteria=self._stop_criteria(stops[1], width))
            completion = seqs[:, width:]
            logprob, entropy, certainty = stats.finish(completion)
        return self._unpack(completion.cpu(), logprob, entropy, certainty, stops)

    def _unpack(self, completion: torch.Tensor, logprob: torch.Tensor, entropy: torch.Tensor,
                certainty: torch.Tensor, stops: tuple[list[int], tuple[str, ...]] = ([], ())) -> list[dict]:
        steps = completion.shape[1]
        is_eos = torch.isin(completion, torch.tensor(self.eos_ids))
        stopped = is_eos.any(dim=1)
        n_tokens = torch.where(stopped, is_eos.int().argmax(dim=1) + 1, steps)
        cuts = [stop_cut(self.tokenizer, row[:k].tolist(), *stops) for row, k in zip(completion, n_tokens.tolist())]
        texts = [text for _, text, _ in cuts]
        n_tokens = torch.tensor([k for k, _, _ in cuts])
        stopped = stopped | torch.tensor([hit for _, _, hit in cuts])
        keep = (torch.arange(steps)[None, :] < n_tokens[:, None]).float()
        total_lp = (logprob * keep).sum(1)
        mean_ent = (entropy * keep).sum(1) / n_tokens
        mean_sc = (certainty * keep).sum(1) / n_tokens
        return [{"text": texts[r], "n_tokens": int(n_tokens[r]), "finish_reason": "stop" if stopped[r] else "length",
                 "logprob": float(total_lp[r]),
                 "stats": {"mean_logprob": float(total_lp[r] / n_tokens[r]), "mean_entropy": float(mean_ent[r]),
                           "self_certainty": float(mean_sc[r])}}
                for r in range(completion.shape[0])]


def _sample(problem_id: str, index: int, params: dict, out: dict) -> Sample:
    return Sample(problem_id=problem_id, index=index, params=dict(params), text=out["text"], n_tokens=out["n_tokens"],
                  finish_reason=out["finish_reason"], logprob=out["logprob"], stats=dict(out["stats"]))


def _eos_ids(model, tokenizer) -> list[int]:
    """EOS ids from the tokenizer and the model's generation_config (e.g. <|im_end|> and <|endoftext|>)."""
    ids: list[int] = []
    gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for x in (tokenizer.eos_token_id, gen_eos):
        for i in (x if isinstance(x, (list, tuple)) else [x]):
            if i is not None and int(i) not in ids:
                ids.append(int(i))
    if not ids:
        raise SelftaughtError("neither the tokenizer nor the model's generation_config names an EOS token.")
    return ids


def hf_backend(cfg, model=None, tokenizer=None) -> HFGenerator:
    """Backend factory for `backend: hf` (loads the recipe's model unless one is given)."""
    from .resolve import load_model

    if model is None or tokenizer is None:
        model, tokenizer = load_model(cfg.model, device=cfg.device, dtype=cfg.dtype)
    return HFGenerator(model, tokenizer, batch_size=cfg.sampling.batch_size, device=model.device,
                       prompt_format=cfg.prompt.format)


BACKENDS.register("hf", hf_backend)
