"""`FastGenerator` (`backend: fast`): a static-KV sampler for Llama-shaped models with continuous batching.

Families: those `fast_families.SUPPORTED` names (Llama, Mistral, Qwen2, Qwen3, Phi-3, Gemma 3 text);
the backend factory falls back to `hf` with one printed note for any other (`fallback_note`), and a
call whose sequences outgrow the model's sliding window runs through `hf` too.

How a call runs (`generate_ids`):

1. Each prompt is prefilled once (prompts sorted by length and batched, right-padded) and its KV
   copied into the cache slots of its n samples; the first token of each sample is drawn from the
   prompt's last logits. With `share_prefix` (the default on a CPU) the tokens every prompt of the
   call starts with (a system prompt and few-shot examples: ~90 of the default task's ~106) are
   prefilled once for all, kept apart, and read once per decode step for all slots.
2. Decode steps run over all slots at once: one new token per slot at its own position, attention over
   the cache positions that cover every slot. On a GPU each step is a CUDA graph replay (one graph per
   slot count, 64-multiple attention length and sampling mode, captured on first use); on a CPU the
   same step runs eagerly over exactly the positions and slots in use.
3. Every `sync_every` steps (8 on a GPU, every step on a CPU) the finished slots (EOS, a stop token, or
   `max_new_tokens`) are read back and refilled from the queue of pending (prompt, sample) jobs, so
   long samples never hold short ones back; once the queue is empty, eager runs move the last live
   slots down so steps cover fewer slots. Text stop strings (`params.stop`, see `stopping`): a step
   only flags the slots whose new token holds the last character of one (a lookup in a vocabulary
   mask); at the read-back just those slots' texts are decoded and checked, and a slot whose text holds
   a stop string finishes there (tokens, text and stats cut at it, from per-token buffers).

`matmul_dtype` narrows only the matrix multiplies (bf16 copies of the weights, refreshed each call; activations cast for
each matmul and the result cast back); on a CPU with native bf16 (AVX512-BF16, AMX) that is ~1.6x
float32's sampling speed for SmolLM2-135M. The round loop uses it for training attempts when the recipe
asks (`sampling.matmul_dtype: auto` or `bfloat16`; off by default) and keeps the held-out evaluation
in the model's dtype unless `eval.matmul_dtype` says otherwise.

Sampling, log-probs and stats happen on the device (`fast_kernels`), and a sample's noise depends only
on (seed, prompt index, sample index, token index): the same call gives the same samples whatever
`max_batch` or `share_prefix` (float rounding aside). Records match `HFGenerator`'s: `logprob` is the sum of raw
(temperature 1) log-probs of the tokens up to and including EOS, with `mean_logprob`, `mean_entropy`
and `self_certainty` stats. Each call first syncs with the model's current weights, so a generator
stays right when the model is trained in place between calls.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Sequence

import numpy as np
import torch

from ..core.errors import SelftaughtError
from ..core.progress import progress
from ..core.records import Prompt, Sample, SamplingParams
from .backends import BACKENDS
from .fast_families import rope_tables, sliding_window, unsupported
from .fast_kernels import job_seed, row_keys, sample
from .fast_model import FastWeights, decode, prefill
from .hf import HFGenerator, hf_backend
from .resolve import console
from .stopping import first_stop, split_stops, stop_cut, suspect_tokens

BUCKET = 64  # attention-length and cache-length granularity
FALLBACK_NOTED: set[str] = set()  # model types whose fallback to hf was already printed in this process


def fallback_note(model) -> str | None:
    """Why backend fast cannot run `model` (None: it can); printed once per model type per process, as
    the note that backend hf runs it instead."""
    reason = unsupported(model)
    kind = str(getattr(model.config, "model_type", "?"))
    if reason is not None and kind not in FALLBACK_NOTED:
        FALLBACK_NOTED.add(kind)
        console.print(f"[yellow]note:[/] backend fast cannot run this model ({reason}); "
                      f"using backend hf (transformers generate) for {kind} instead.")
    return reason


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


class _State:
    """Per-slot device tensors; fixed addresses, so captured graphs read and write them in place."""

    def __init__(self, slots: int, width: int, device: torch.device) -> None:
        i64 = dict(dtype=torch.int64, device=device)
        f32 = dict(dtype=torch.float32, device=device)
        self.tok, self.pos, self.seed, self.n_gen = (torch.zeros(slots, **i64) for _ in range(4))
        self.live = torch.zeros(slots, dtype=torch.bool, device=device)
        self.lp, self.ent, self.sc = (torch.zeros(slots, **f32) for _ in range(3))
        self.out = torch.zeros((slots, width), **i64)
        self.flag = torch.zeros(slots, dtype=torch.bool, device=device)  # emitted a stop-suspect token
        self.tlp, self.tent, self.tsc = (torch.zeros((slots, width), **f32) for _ in range(3))  # per token

    def tensors(self) -> list[torch.Tensor]:
        return [self.tok, self.pos, self.seed, self.n_gen, self.live, self.lp, self.ent, self.sc, self.out,
                self.flag, self.tlp, self.tent, self.tsc]


class _Staged:
    """Prefilled prompts waiting for their samples to get slots: KV and last-token logits."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor, logits: torch.Tensor, lens: list[int]) -> None:
        self.k, self.v, self.logits, self.lens = k, v, logits, lens


class FastGenerator:
    """Samples completions with a static KV cache (implements `core.protocols.Generator`).

    `max_batch` is the number of cache slots (sequences decoded together); `max_len` the cache length
    in tokens (prompt + completion; None sizes it to each call's need); `cuda_graphs` defaults to on
    for CUDA devices; `stop_on_eos=False` always generates `max_new_tokens` (for benchmarks);
    `attention="triton"` swaps SDPA for `fast_kernels.decode_attention` in decode steps (CUDA GPU;
    recipe key `fast_attention`; faster at large batches and the same greedy agreement with hf on the
    default task, see BENCHMARKS.md; opt-in until a full loop has run with it). `share_prefix` (None: on a
    CPU with SDPA) prefills the prompts' common prefix once and reads it once per step (SDPA only).
    `matmul_dtype` (None: the model's): the dtype of the matrix multiplies, see `pick_matmul_dtype`.
    """

    backend_name = "fast"  # recorded with the samples it makes (models.backends.generator_source)

    def __init__(self, model, tokenizer, max_batch: int = 256, max_len: int | None = None,
                 device: str | torch.device | None = None, cuda_graphs: bool | None = None,
                 prefill_tokens: int | None = None, sync_every: int | None = None, stop_on_eos: bool = True,
                 attention: str = "sdpa", share_prefix: bool | None = None,
                 matmul_dtype: torch.dtype | str | None = None, prompt_format: str = "auto") -> None:
        if max_batch < 1 or (sync_every is not None and sync_every < 1):
            raise ValueError(f"max_batch and sync_every must be at least 1, got {max_batch}, {sync_every}")
        if attention not in ("sdpa", "triton"):
            raise ValueError(f"attention must be 'sdpa' or 'triton', got {attention!r}")
        want = torch.device(device) if device is not None else model.device
        if want.type != model.device.type or want.index not in (None, model.device.index):
            raise ValueError(f"the model is on {model.device}, not {want}; move it there first")
        default_share = model.device.type == "cpu" and attention == "sdpa"
        self.share_prefix = default_share if share_prefix is None else share_prefix
        if self.share_prefix and attention == "triton":
            raise ValueError("share_prefix works with attention='sdpa' only")
        self.attention = attention
        # prompt encoding, EOS ids; also generates a call whose sequences outgrow the model's sliding window
        self._hf = HFGenerator(model, tokenizer, batch_size=max_batch, device=model.device, prompt_format=prompt_format)
        self.prompt_format = self._hf.prompt_format
        self.model, self.tokenizer, self.device = model, tokenizer, model.device
        self.max_batch, self.max_len, self.stop_on_eos = max_batch, max_len, stop_on_eos
        self.progress = False  # a bar advancing per finished sequence (the loop sets it on a terminal)
        self.cuda_graphs = self.device.type == "cuda" if cuda_graphs is None else cuda_graphs
        self.sync_every = sync_every or (8 if self.cuda_graphs else 1)  # a read-back costs nothing on a CPU
        self.prefill_tokens = prefill_tokens or (16384 if self.device.type == "cuda" else 2048)
        self.matmul_dtype = pick_matmul_dtype(matmul_dtype, model)
        self.weights = FastWeights.from_hf(model, matmul_dtype=self.matmul_dtype)
        if attention == "triton" and self.weights.scale is not None:
            raise SelftaughtError("fast_attention: triton scales attention by 1/sqrt(head_dim), but this model "
                                  "(Gemma 3) has its own scale; use fast_attention: sdpa for it.")
        self._seen = _fingerprint(model)
        self.cache_k = self.cache_v = self.state = self.prefix_k = self.prefix_v = None
        self._cache_len = 0
        self._graphs: dict[tuple, Any] = {}
        self._pool = None
        vocab = model.get_output_embeddings().weight.shape[0]
        # fixed tensors (captured graphs read them): tokens that end a sample, tokens that may end a stop string
        self.end_mask = torch.zeros(vocab, dtype=torch.bool, device=self.device)
        self.suspect = torch.zeros(vocab, dtype=torch.bool, device=self.device)
        self.text_stops: tuple[str, ...] = ()
        self.stop_ids: set[int] = set()
        self._suspects: dict[tuple[str, ...], list[int]] = {}

    # ---- public API --------------------------------------------------------------------------------

    def encode(self, prompts) -> list[list[int]]:
        """Token ids per prompt, as the sampler reads them (the hf generator's encoding): scorers that run the
        model's forward pass themselves (the prompted judge's P(yes)) read the same tokens through either backend."""
        return self._hf.encode(prompts)
    def generate(self, prompts: list[Prompt], params: SamplingParams, n: int = 1,
                 problem_ids: list[str] | None = None) -> list[list[Sample]]:
        """n samples for each prompt, in prompt order (greedy: one decode, copied n times)."""
        if problem_ids is not None and len(problem_ids) != len(prompts):
            raise ValueError(f"{len(problem_ids)} problem_ids for {len(prompts)} prompts")
        prompt_ids = self._hf.encode(prompts)
        window = sliding_window(self.model.config)
        if window and prompt_ids and max(map(len, prompt_ids)) + params.max_new_tokens > window:
            console.print(f"[yellow]note:[/] sequences longer than the model's sliding window ({window}): "
                          "this call runs through transformers generate.")
            self._hf.progress = self.progress
            return self._hf.generate(prompts, params, n, problem_ids)
        outs = self.generate_ids(prompt_ids, params, n)
        record = {"temperature": params.temperature, "top_p": params.top_p,
                  "max_new_tokens": params.max_new_tokens, "seed": params.seed}
        if self.matmul_dtype is not None:  # set only when it differs from the model's dtype
            record["matmul_dtype"] = str(self.matmul_dtype).removeprefix("torch.")
        pids = problem_ids if problem_ids is not None else [str(i) for i in range(len(prompts))]
        return [[Sample(problem_id=pids[i], index=j, params=dict(record), text=o["text"], n_tokens=o["n_tokens"],
                        finish_reason=o["finish_reason"], logprob=o["logprob"], stats=dict(o["stats"]))
                 for j, o in enumerate(row)] for i, row in enumerate(outs)]

    def generate_ids(self, prompt_ids: Sequence[Sequence[int]], params: SamplingParams,
                     n: int = 1) -> list[list[dict]]:
        """Per prompt, n dicts: tokens, n_tokens, text (cut before any stop string), finish_reason, logprob, stats."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if params.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {params.max_new_tokens}")
        if any(len(p) == 0 for p in prompt_ids):
            raise SelftaughtError("a prompt encodes to no tokens; the fast backend needs at least one.")
        if not prompt_ids:
            return []
        runs = 1 if params.greedy else n
        self._sync_weights()
        self._set_stops(params.stop if self.stop_on_eos else ())
        with torch.inference_mode(), progress("Generating", len(prompt_ids) * runs, self.progress,
                                              unit="seq") as advance:
            results = _Run(self, [list(p) for p in prompt_ids], params, runs, advance).run()
        return [[dict(results[(i, j % runs)]) for j in range(n)] for i in range(len(prompt_ids))]

    def _set_stops(self, stop: tuple[str, ...]) -> None:
        """Fill `end_mask` (EOS and stop tokens) and `suspect` (see the module docstring) for this call."""
        ids, self.text_stops = split_stops(self.tokenizer, stop)
        self.stop_ids = set(ids)
        self.end_mask.zero_()
        if self.stop_on_eos:
            self.end_mask[torch.tensor(self._hf.eos_ids + ids, device=self.device)] = True
        if self.text_stops not in self._suspects:
            self._suspects[self.text_stops] = suspect_tokens(self.tokenizer, self.text_stops, len(self.suspect))
        self.suspect.zero_()
        if self._suspects[self.text_stops]:
            self.suspect[torch.tensor(self._suspects[self.text_stops], device=self.device)] = True

    def set_matmul_dtype(self, choice: torch.dtype | str | None) -> None:
        """Run the matrix multiplies in `choice` (see `pick_matmul_dtype`) from the next call on."""
        dtype = pick_matmul_dtype(choice, self.model)
        if dtype != self.matmul_dtype:
            self.matmul_dtype = dtype
            self._seen = None  # the next call rebuilds the weights

    # ---- weights, cache, state and graphs ---------------------------------------------------------
    def _sync_weights(self) -> None:
        """Make the weights this generator runs with the model's current ones (each call).

        `FastWeights` holds views of most parameters but copies of the fused q/k/v and gate/up
        matrices, and CUDA graphs hold their addresses. A model trained in place between calls (the
        round loop trains the very object it samples from; TRL's optimizer steps do not even bump
        parameter versions) keeps its storage: the copies are refreshed in place and the graphs stay
        valid. Parameters replaced (moved, reloaded, re-tied) change storage: everything is rebuilt."""
        seen = _fingerprint(self.model)
        if seen != self._seen:
            self.weights = FastWeights.from_hf(self.model, matmul_dtype=self.matmul_dtype)
            self._seen = seen
            self._graphs.clear()
            if self._cache_len:
                self.weights.cos, self.weights.sin = rope_tables(self.model, self._cache_len)
        else:
            self.weights.refresh(self.model)

    def _prepare(self, need: int) -> None:
        """Make the cache at least `need` positions long (a new cache drops the captured graphs)."""
        if self.max_len is not None and need > self.max_len:
            raise SelftaughtError(f"a prompt plus max_new_tokens needs {need} tokens, over the fast backend's "
                                  f"max_len={self.max_len}; raise max_len or shorten the prompt.")
        length = self.max_len or _round_up(need, BUCKET)
        if length <= self._cache_len:
            return
        self._graphs.clear()
        self.cache_k = self.cache_v = self.state = self.prefix_k = self.prefix_v = None
        w = self.weights
        length = max(length, self._cache_len)
        shape = (w.n_layers, self.max_batch, w.n_kv, length, w.head_dim)
        self.cache_k = torch.zeros(shape, dtype=w.dtype, device=self.device)
        self.cache_v = torch.zeros_like(self.cache_k)
        if self.share_prefix:  # the run's shared prompt prefix, [layers, kv, positions, d]
            self.prefix_k = torch.zeros((w.n_layers, w.n_kv, length, w.head_dim), dtype=w.dtype, device=self.device)
            self.prefix_v = torch.zeros_like(self.prefix_k)
        self.state = _State(self.max_batch, length, self.device)
        w.cos, w.sin = rope_tables(self.model, length)
        self.inv_temp = torch.ones((), dtype=torch.float32, device=self.device)
        self.top_p = torch.ones((), dtype=torch.float32, device=self.device)
        self.max_new = torch.zeros((), dtype=torch.int64, device=self.device)
        self._cache_len = length

    def prefix(self, start: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """K/V of the shared prompt prefix (positions 0..start-1), or None without one."""
        return (self.prefix_k[:, :, :start], self.prefix_v[:, :, :start]) if start else None

    def _step(self, slots: int, length: int, mode: str, start: int = 0) -> None:
        """One decode step for slots [0, slots): sample, record, advance. Graph-capturable."""
        st, w = self.state, self.weights
        live = st.live[:slots]
        logits = decode(w, self.cache_k, self.cache_v, st.tok[:slots], st.pos[:slots], length, self.attention,
                        self.prefix(start))
        keys = row_keys(st.seed[:slots], st.n_gen[:slots])
        tok, lp, ent, sc = sample(logits, keys, self.inv_temp, greedy=mode == "greedy",
                                  top_p=self.top_p if mode == "top_p" else 1.0)
        rows = torch.arange(slots, device=self.device)
        col = st.n_gen[:slots].clamp(max=st.out.shape[1] - 1)
        out = st.out[:slots]
        out[rows, col] = torch.where(live, tok, out[rows, col])
        for buf, x in ((st.tlp, lp), (st.tent, ent), (st.tsc, sc)):
            buf[:slots][rows, col] = torch.where(live, x, buf[:slots][rows, col])
        st.flag[:slots] |= self.suspect[tok] & live
        keep = live.float()
        st.lp[:slots] += lp * keep
        st.ent[:slots] += ent * keep
        st.sc[:slots] += sc * keep
        st.n_gen[:slots] += live.long()
        stop = self.end_mask[tok] | (st.n_gen[:slots] >= self.max_new)
        live.logical_and_(~stop)
        st.tok[:slots] = tok
        st.pos[:slots] = (st.pos[:slots] + 1).clamp(max=self._cache_len - 1)

    def _replay(self, slots: int, length: int, mode: str, start: int = 0) -> None:
        if not self.cuda_graphs:
            self._step(slots, length, mode, start)
            return
        key = (slots, length, mode, start)
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._graphs[key] = self._capture(slots, length, mode, start)
        graph.replay()

    def _capture(self, slots: int, length: int, mode: str, start: int):
        snapshot = [t.clone() for t in self.state.tensors()]  # warm-up steps must leave no trace
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(2):
                self._step(slots, length, mode, start)
        torch.cuda.current_stream(self.device).wait_stream(side)
        if self._pool is None:
            self._pool = torch.cuda.graph_pool_handle()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool):
            self._step(slots, length, mode, start)
        for t, saved in zip(self.state.tensors(), snapshot):
            t.copy_(saved)
        return graph


class _Run:
    """One `generate_ids` call: the job queue, slot bookkeeping on the host, prefill and harvest."""

    def __init__(self, gen: FastGenerator, prompts: list[list[int]], params: SamplingParams, runs: int,
                 advance=lambda n=1: None) -> None:
        self.g, self.prompts, self.params, self.runs, self.advance = gen, prompts, params, runs, advance
        jobs = len(prompts) * runs
        self.slots = min(gen.max_batch, 1 << (jobs - 1).bit_length())
        self.mode = "greedy" if params.greedy else ("top_p" if params.top_p < 1.0 else "sample")
        self.pending = deque((i, j) for i in range(len(prompts)) for j in range(runs))
        self.left = {i: runs for i in range(len(prompts))}  # jobs of a prompt not yet given a slot
        self.staged: dict[int, tuple[_Staged, int]] = {}
        self.occupied = np.zeros(self.slots, dtype=bool)
        self.job_at: list[tuple[int, int] | None] = [None] * self.slots
        self.pos = np.zeros(self.slots, dtype=np.int64)  # host mirror of each slot's position
        self.n_gen = np.zeros(self.slots, dtype=np.int64)
        self.results: dict[tuple[int, int], dict] = {}
        self.start = _common_prefix(prompts) if gen.share_prefix else 0  # prefilled once, shared by all slots
        self.tail = [len(x) - self.start for x in prompts]  # tokens each prompt prefills itself

    def run(self) -> dict[tuple[int, int], dict]:
        g, p = self.g, self.params
        g._prepare(max(len(x) for x in self.prompts) + p.max_new_tokens)
        g.inv_temp.fill_(1.0 / p.temperature if p.temperature > 0 else 1.0)
        g.top_p.fill_(p.top_p)
        g.max_new.fill_(p.max_new_tokens)
        g.state.live.zero_()
        if self.start:
            head = torch.tensor([self.prompts[0][:self.start]], device=g.device)
            k, v, _ = prefill(g.weights, head, torch.tensor([self.start], device=g.device))
            g.prefix_k[:, :, :self.start], g.prefix_v[:, :, :self.start] = k[:, 0], v[:, 0]
        while True:
            self._harvest()
            if self.pending and not self.occupied.all():
                self._refill()
                continue
            if not self.occupied.any():
                return self.results
            # after a harvest every occupied slot is live, so each has at least one token to go
            steps = int(min(g.sync_every, (p.max_new_tokens - self.n_gen[self.occupied]).max()))
            bucket = BUCKET if g.cuda_graphs else 1  # graphs want few shapes; eager steps the exact length
            length = min(_round_up(int(self.pos[self.occupied].max()) + steps, bucket), g._cache_len)
            # graphs replay a fixed slot count; eager steps stop at the last occupied slot (see _compact)
            width = self.slots if g.cuda_graphs else int(np.flatnonzero(self.occupied)[-1]) + 1
            for _ in range(steps):
                g._replay(width, length, self.mode, self.start)
            self.pos[self.occupied] += steps
            self.n_gen[self.occupied] += steps

    # ---- prefill and slot filling ------------------------------------------------------------------
    def _stage(self, need: list[int]) -> None:
        """Prefill the prompts in `need` plus, up to the token budget, the next pending ones."""
        g, budget = self.g, self.g.prefill_tokens
        chosen = list(dict.fromkeys(need))
        seen, tokens = set(self.staged) | set(chosen), sum(self.tail[i] for i in chosen)
        for i, _ in self.pending:
            if i in seen:
                continue
            if tokens + self.tail[i] > budget:
                break
            seen.add(i)
            chosen.append(i)
            tokens += self.tail[i]
        chosen.sort(key=lambda i: self.tail[i])
        start = 0
        while start < len(chosen):  # chunks of similar length, each under the budget
            end = start + 1
            while end < len(chosen) and (end + 1 - start) * self.tail[chosen[end]] <= budget:
                end += 1
            part = chosen[start:end]
            ids = torch.zeros((len(part), self.tail[part[-1]]), dtype=torch.int64)
            for r, i in enumerate(part):
                ids[r, :self.tail[i]] = torch.tensor(self.prompts[i][self.start:])
            lens = torch.tensor([self.tail[i] for i in part], device=g.device)
            k, v, logits = prefill(g.weights, ids.to(g.device), lens, g.prefix(self.start))
            staged = _Staged(k, v, logits, [len(self.prompts[i]) for i in part])
            for r, i in enumerate(part):
                self.staged[i] = (staged, r)
            start = end

    def _refill(self) -> None:
        free = np.flatnonzero(~self.occupied)
        jobs = [self.pending.popleft() for _ in range(min(len(free), len(self.pending)))]
        missing = [i for i, _ in jobs if i not in self.staged]
        if missing:
            self._stage(missing)
        groups: dict[int, tuple[_Staged, list[int], list[int], list[tuple[int, int]]]] = {}
        for slot, (i, j) in zip(free, jobs):
            staged, row = self.staged[i]
            grp = groups.setdefault(id(staged), (staged, [], [], []))
            grp[1].append(int(slot))
            grp[2].append(row)
            grp[3].append((i, j))
            self.left[i] -= 1
            if self.left[i] == 0:
                del self.staged[i]
        for staged, slots, rows, placed in groups.values():
            self._place(staged, slots, rows, placed)

    def _place(self, staged: _Staged, slots: list[int], rows: list[int], placed: list[tuple[int, int]]) -> None:
        """Copy staged KV into `slots`, draw each job's first token, and set the slots' state."""
        g, st, p = self.g, self.g.state, self.params
        dev = g.device
        s_t, r_t = torch.tensor(slots, device=dev), torch.tensor(rows, device=dev)
        at = slice(self.start, self.start + staged.k.shape[3])  # the shared prefix stays in g.prefix_k/v
        g.cache_k[:, s_t, :, at] = staged.k[:, r_t]
        g.cache_v[:, s_t, :, at] = staged.v[:, r_t]
        seeds = torch.tensor([job_seed(p.seed, i, j) for i, j in placed], dtype=torch.int64, device=dev)
        keys = row_keys(seeds, torch.zeros_like(seeds))
        tok, lp, ent, sc = sample(staged.logits[r_t], keys, g.inv_temp, greedy=p.greedy,
                                  top_p=float(p.top_p) if p.top_p < 1.0 else 1.0)
        lens = torch.tensor([staged.lens[r] for r in rows], device=dev)
        st.tok[s_t], st.pos[s_t], st.seed[s_t] = tok, lens, seeds
        st.n_gen[s_t] = 1
        st.lp[s_t], st.ent[s_t], st.sc[s_t] = lp, ent, sc
        st.out[s_t, 0] = tok
        st.tlp[s_t, 0], st.tent[s_t, 0], st.tsc[s_t, 0] = lp, ent, sc
        st.flag[s_t] = g.suspect[tok]
        st.live[s_t] = ~(g.end_mask[tok] | (p.max_new_tokens <= 1))
        for slot, job, r in zip(slots, placed, rows):
            self.occupied[slot], self.job_at[slot] = True, job
            self.pos[slot], self.n_gen[slot] = staged.lens[r], 1

    # ---- finished slots ----------------------------------------------------------------------------
    def _harvest(self) -> None:
        if not self.occupied.any():
            return
        st = self.g.state
        live = st.live[:self.slots].cpu().numpy()
        if self.g.text_stops:
            self._check_stops(live)
        done = np.flatnonzero(self.occupied & ~live)
        if len(done) == 0:
            return
        d_t = torch.tensor(done, device=self.g.device)
        n_gen = st.n_gen[d_t].cpu()
        width = int(n_gen.max())
        toks = st.out[d_t, :width].cpu().tolist()
        lp, ent, sc = (x[d_t, :width].cpu() for x in (st.tlp, st.tent, st.tsc))
        end = set(torch.nonzero(self.g.end_mask).flatten().tolist())
        for r, slot in enumerate(done):
            tokens = toks[r][:int(n_gen[r])]
            n, text, hit = stop_cut(self.g.tokenizer, tokens, list(self.g.stop_ids), self.g.text_stops)
            total = float(lp[r, :n].sum())
            self.results[self.job_at[slot]] = {
                "tokens": tokens[:n], "n_tokens": n, "text": text,
                "finish_reason": "stop" if hit or tokens[-1] in end else "length",
                "logprob": total, "stats": {"mean_logprob": total / n, "mean_entropy": float(ent[r, :n].sum()) / n,
                                            "self_certainty": float(sc[r, :n].sum()) / n}}
            self.occupied[slot], self.job_at[slot] = False, None
        self.advance(len(done))
        if not self.pending and not self.g.cuda_graphs:
            self._compact()

    def _check_stops(self, live: np.ndarray) -> None:
        """Finish the live slots whose text now holds a stop string (only flagged slots are decoded)."""
        st = self.g.state
        flagged = np.flatnonzero(self.occupied & live & st.flag[:self.slots].cpu().numpy())
        if len(flagged) == 0:
            return
        f_t = torch.tensor(flagged, device=self.g.device)
        n_gen = st.n_gen[f_t].cpu().tolist()
        rows = st.out[f_t, :max(n_gen)].cpu().tolist()
        texts = self.g.tokenizer.batch_decode([row[:n] for row, n in zip(rows, n_gen)], skip_special_tokens=True)
        hits = [first_stop(t, self.g.text_stops) is not None for t in texts]
        st.flag[f_t] = False
        if any(hits):
            stop = flagged[np.asarray(hits)]
            st.live[torch.tensor(stop, device=self.g.device)] = False
            live[stop] = False

    def _compact(self) -> None:
        """Move the last occupied slots into free ones below them, so eager steps cover fewer slots."""
        occupied = np.flatnonzero(self.occupied)
        n = len(occupied)
        moves = list(zip(occupied[occupied >= n], np.flatnonzero(~self.occupied[:n])))
        if not moves:
            return
        g, dev = self.g, self.g.device
        src, dst = (torch.tensor([int(m[c]) for m in moves], device=dev) for c in (0, 1))
        for t in (g.cache_k, g.cache_v):
            t[:, dst] = t[:, src]
        for t in g.state.tensors():
            t[dst] = t[src]
        for a, b in moves:
            self.job_at[b], self.pos[b], self.n_gen[b] = self.job_at[a], self.pos[a], self.n_gen[a]
            self.occupied[b], self.occupied[a], self.job_at[a] = True, False, None
        g.state.live[src] = False



def cpu_has_bf16_matmul() -> bool:
    """Whether this x86 CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX), where oneDNN's bf16
    GEMM runs 2.1-2.7x float32's on one core (dev VM, SmolLM2-135M's shapes; benchmarks/matmul_dtype.py
    --gemm). Elsewhere (AVX2 laptops, ARM) bf16 matmuls are emulated or unmeasured here, so `auto`
    keeps float32."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def pick_matmul_dtype(choice: torch.dtype | str | None, model) -> torch.dtype | None:
    """The dtype the fast backend multiplies matrices in; None: the model's own.

    `choice`: a torch dtype, None or "model" (the model's dtype), "bfloat16", or "auto": bfloat16 for a
    float32 model on a CPU with native bf16 matmuls (`cpu_has_bf16_matmul`), else the model's dtype.
    Only the matmuls narrow: activations are cast for each one and the results cast back, so the
    residual stream, norms, attention, KV cache and sampling stay in the model's dtype."""
    first = next(model.parameters())
    if choice is None or choice == "model":
        dtype = None
    elif isinstance(choice, torch.dtype):
        dtype = choice
    elif choice == "bfloat16":
        dtype = torch.bfloat16
    elif choice == "auto":
        native = first.device.type == "cpu" and first.dtype == torch.float32 and cpu_has_bf16_matmul()
        dtype = torch.bfloat16 if native else None
    else:
        raise ValueError(f"matmul dtype must be 'auto', 'model', 'bfloat16' or a torch dtype, got {choice!r}")
    return None if dtype == first.dtype else dtype  # None whenever the matmuls stay in the model's dtype


def _fingerprint(model) -> tuple:
    """Where each parameter lives (storage, dtype): changes when parameters are replaced, moved or cast."""
    return tuple((t.data_ptr(), t.dtype) for t in model.parameters())


def _common_prefix(prompts: list[list[int]]) -> int:
    """Tokens every prompt starts with, leaving each at least one of its own (its last logits)."""
    first, n = prompts[0], min(len(x) for x in prompts) - 1
    for x in prompts[1:]:
        n = next((j for j in range(n) if x[j] != first[j]), n)
    return n


def fast_backend(cfg, model: Any = None, tokenizer: Any = None) -> FastGenerator:
    """Backend factory for `backend: fast` (loads the recipe's model unless one is given)."""
    from . import fast_kernels
    from .resolve import load_model

    if cfg.fast_attention == "triton" and fast_kernels.triton is None:
        raise SelftaughtError("fast_attention: triton needs the `triton` package (it comes with torch's CUDA "
                              "wheels); use fast_attention: sdpa on this machine.")
    if model is None or tokenizer is None:
        model, tokenizer = load_model(cfg.model, device=cfg.device, dtype=cfg.dtype)
    if fallback_note(model):  # a family the fast sampler does not cover: transformers generate instead
        return hf_backend(cfg, model, tokenizer)
    return FastGenerator(model, tokenizer, max_batch=cfg.sampling.batch_size, attention=cfg.fast_attention,
                         prompt_format=cfg.prompt.format)


BACKENDS.register("fast", fast_backend)
