"""`VLLMGenerator`: in-process vLLM sampling (`backend: vllm`; `pip install "selftaught[vllm]"`).

Kept thin: selftaught's `SamplingParams` become a `vllm.SamplingParams` (n, temperature, top_p,
max_tokens, seed, `logprobs=0`: the sampled token's log-prob only; `stop`: the stop strings, which
vLLM leaves out of the text, and `stop_token_ids`: those that are one special token, e.g.
`<|im_start|>`), chat prompts are encoded with the model's chat template exactly as the hf backend
does, and each `CompletionOutput` becomes a `Sample`:
`logprob` is the sum of the sampled tokens' log-probs (vLLM's default `logprobs_mode`,
`raw_logprobs`, reports them before temperature and top-p, as the hf backend does),
`stats["mean_logprob"]` its mean, `n_tokens` the generated token ids, `finish_reason` "length" or
"stop". Entropy and self-certainty need the full distribution and are left out.

vLLM loads weights from a folder itself, so the factory needs the round's checkpoint folder (a path),
not an already loaded transformers model. vLLM is imported only when this backend is built.
"""

from __future__ import annotations

import gc
from typing import Any, Sequence

from ..core.errors import SelftaughtError
from ..core.protocols import check_generate_args
from ..core.records import Prompt, Sample, SamplingParams
from ..tasks.formats import chat_text, format_prompt, resolve_prompt_format
from .backends import BACKENDS
from .stopping import split_stops


def vllm_sampling_kwargs(params: SamplingParams, n: int, seed: int,
                         stop_token_ids: Sequence[int] = ()) -> dict[str, Any]:
    """Keyword arguments of `vllm.SamplingParams` for `n` samples of one prompt.

    >>> vllm_sampling_kwargs(SamplingParams(0.7, 0.9, 32, seed=5, stop=()), n=4, seed=12)
    {'n': 4, 'temperature': 0.7, 'top_p': 0.9, 'max_tokens': 32, 'seed': 12, 'logprobs': 0}
    >>> vllm_sampling_kwargs(SamplingParams(0.7, 0.9, 32, stop=("<|im_start|>", "\\nQ:")), 1, 0, [1])["stop"]
    ['<|im_start|>', '\\nQ:']
    """
    out = {"n": n, "temperature": max(params.temperature, 0.0), "top_p": params.top_p,
           "max_tokens": params.max_new_tokens, "seed": seed, "logprobs": 0}
    if params.stop:
        out["stop"] = list(params.stop)
    if stop_token_ids:
        out["stop_token_ids"] = list(stop_token_ids)
    return out


def vllm_inputs(prompts: list[Prompt], tokenizer: Any, prompt_format: str = "auto") -> list[Any]:
    """vLLM prompts: plain strings as they are; chat messages as token ids through the chat template, or
    (prompt format `plain`, or `auto` on a tokenizer without a chat template) rendered as plain text."""
    out: list[Any] = []
    prompt_format = resolve_prompt_format(prompt_format, tokenizer)
    for p in prompts:
        p = format_prompt(p, prompt_format)
        if isinstance(p, str):
            out.append(p)
            continue
        text = chat_text(tokenizer, list(p))
        out.append({"prompt_token_ids": list(tokenizer(text, add_special_tokens=False)["input_ids"])})
    return out


def sample_fields(output: Any) -> dict[str, Any]:
    """Sample fields (text, n_tokens, finish_reason, logprob, stats) of one vLLM `CompletionOutput`."""
    token_ids = list(output.token_ids)
    lps = _sampled_logprobs(token_ids, getattr(output, "logprobs", None))
    total = float(sum(lps)) if lps is not None else getattr(output, "cumulative_logprob", None)
    fields = {"text": output.text, "n_tokens": len(token_ids),
              "finish_reason": "length" if output.finish_reason == "length" else "stop",
              "logprob": None if total is None else float(total), "stats": {}}
    if total is not None and token_ids:
        fields["stats"] = {"mean_logprob": float(total) / len(token_ids)}
    return fields


def _sampled_logprobs(token_ids: list[int], logprobs: Any) -> list[float] | None:
    """Per position, the log-prob of the token sampled there (entries: {token_id: Logprob} or a float)."""
    if not logprobs or len(logprobs) != len(token_ids):
        return None
    values = []
    for tok, entry in zip(token_ids, logprobs):
        lp = entry.get(tok) if isinstance(entry, dict) else None
        if lp is None:
            return None
        values.append(float(getattr(lp, "logprob", lp)))
    return values


class VLLMGenerator:
    """Samples completions with an in-process `vllm.LLM` (implements `core.protocols.Generator`)."""

    backend_name = "vllm"  # recorded with the samples it makes (models.backends.generator_source)

    def __init__(self, llm: Any, tokenizer: Any = None, prompt_format: str = "auto") -> None:
        self.llm = llm
        self.tokenizer = tokenizer if tokenizer is not None else llm.get_tokenizer()
        self.prompt_format = resolve_prompt_format(prompt_format, self.tokenizer)

    def generate(self, prompts: list[Prompt], params: SamplingParams, n: int = 1,
                 problem_ids: list[str] | None = None) -> list[list[Sample]]:
        """n samples for each prompt, in prompt order (greedy: one decode, copied n times)."""
        check_generate_args(prompts, params, n, problem_ids)
        if not prompts:
            return []
        import vllm

        runs = 1 if params.greedy else n
        stop_ids, _ = split_stops(self.tokenizer, params.stop)
        sampling = [vllm.SamplingParams(**vllm_sampling_kwargs(params, runs, params.seed + i, stop_ids))
                    for i in range(len(prompts))]
        results = self.llm.generate(vllm_inputs(prompts, self.tokenizer, self.prompt_format), sampling, use_tqdm=False)
        record = {"temperature": params.temperature, "top_p": params.top_p,
                  "max_new_tokens": params.max_new_tokens, "seed": params.seed}
        pids = problem_ids if problem_ids is not None else [str(i) for i in range(len(prompts))]
        return [[Sample(problem_id=pids[i], index=j, params=dict(record), **sample_fields(res.outputs[j % runs]))
                 for j in range(n)] for i, res in enumerate(results)]


_LOADED: dict[str, Any] = {}  # one vllm.LLM at a time: {folder: llm}


def load_llm(path: str, **kwargs: Any) -> Any:
    """A `vllm.LLM` for `path`, reusing the loaded one when it is the same folder (the previous is freed)."""
    try:
        import vllm
    except ImportError:
        raise SelftaughtError('backend vllm needs the vllm package: pip install "selftaught[vllm]" (a CUDA '
                              "machine), or use backend hf, fast or openai.") from None
    if path not in _LOADED:
        _LOADED.clear()
        gc.collect()
        _LOADED[path] = vllm.LLM(model=path, **kwargs)
    return _LOADED[path]


def vllm_backend(cfg, model: Any = None, tokenizer: Any = None) -> VLLMGenerator:
    """Backend factory for `backend: vllm`: `model` is the checkpoint folder (None: the recipe's model)."""
    from .resolve import resolve_model

    if model is not None and not isinstance(model, str):
        raise SelftaughtError("backend vllm loads the weights itself: it needs the checkpoint folder, not a loaded "
                              "transformers model.")
    path = model if model is not None else resolve_model(cfg.model)
    kwargs: dict[str, Any] = {"seed": cfg.seed}
    if cfg.dtype != "auto":
        kwargs["dtype"] = cfg.dtype
    return VLLMGenerator(load_llm(path, **kwargs), prompt_format=cfg.prompt.format)


BACKENDS.register("vllm", vllm_backend)
