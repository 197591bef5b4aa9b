"""Rollout throughput: new tokens/s of `hf` (transformers generate) vs `fast` (FastGenerator), same run.

    PYTHONPATH=src python benchmarks/rollout.py --out rollout.json                  # random SmolLM2-135M shape
    PYTHONPATH=src python benchmarks/rollout.py --model gguf:/tmp/SmolLM2.gguf ...   # the real default model

Each batch size B gets B prompts of `--prompt-len` random tokens and exactly `--new-tokens` new tokens
per prompt (hf: `min_new_tokens`; fast: `stop_on_eos=False`), sampling at `--temperature`, top-p 1,
top-k off. Each backend runs once to warm up (fast: captures its CUDA graphs) and is then timed.
`hf` is plain `model.generate` (no per-token stats), the baseline, and a little faster than
`HFGenerator`. Also measured: greedy agreement (fraction of prompts whose greedy tokens equal
`HFGenerator`'s, which pads on the left), with the fp32 logit gap at each first divergence, and the
roofline (see `roofline()`), from peak rates measured here.
`--make-prompts FILE` writes default-task prompt ids (needs reasoning-gym and the default model; CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from selftaught.core.records import SamplingParams  # noqa: E402
from selftaught.models.fast import FastGenerator  # noqa: E402
from selftaught.models.hf import HFGenerator  # noqa: E402

SMOLLM2_135M = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                    num_attention_heads=9, num_key_value_heads=3, tie_word_embeddings=True, rope_theta=100000.0,
                    max_position_embeddings=8192, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, pad_token_id=2)


class IdTokenizer:
    """Enough of a tokenizer for id prompts: the text of a completion is its ids, space-separated."""

    def __init__(self, eos: int = 2) -> None:
        self.eos_token, self.eos_token_id, self.pad_token, self.pad_token_id = "<eos>", eos, "<eos>", eos
        self.chat_template, self.padding_side = None, "left"

    def batch_decode(self, seqs, skip_special_tokens=True):
        return [" ".join(map(str, s)) for s in seqs]


def load(spec: str, device: str, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if spec == "random":
        torch.manual_seed(0)
        with torch.device(device):
            model = LlamaForCausalLM(LlamaConfig(**SMOLLM2_135M)).to(dtype)
        return model.eval(), IdTokenizer()
    if spec.startswith("gguf:"):
        path = spec[5:]
        folder, name = os.path.dirname(path), os.path.basename(path)
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        from selftaught.models.resolve import _plain_copy  # a GGUF-loaded model refuses .float()

        model = _plain_copy(AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32))
        return model.to(device, dtype).eval(), tok
    from selftaught.models.resolve import load_model

    return load_model(spec, device=device, dtype={torch.bfloat16: "bfloat16", torch.float32: "float32"}[dtype])


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_hf(model, prompts: torch.Tensor, new: int, temperature: float, pad: int) -> float:
    kw = dict(do_sample=True, temperature=temperature, top_p=1.0, top_k=0, pad_token_id=pad,
              attention_mask=torch.ones_like(prompts))
    with torch.inference_mode():
        model.generate(prompts, max_new_tokens=4, min_new_tokens=4, **kw)  # warm-up
        sync()
        t0 = time.perf_counter()
        out = model.generate(prompts, max_new_tokens=new, min_new_tokens=new, **kw)
        sync()
    assert out.shape[1] - prompts.shape[1] == new
    return time.perf_counter() - t0


def time_fast(gen: FastGenerator, prompts: list[list[int]], new: int, temperature: float) -> float:
    params = SamplingParams(temperature=temperature, top_p=1.0, max_new_tokens=new, seed=0)
    gen.generate_ids(prompts, params)  # warm-up: captures the graphs of every attention-length bucket
    sync()
    t0 = time.perf_counter()
    out = gen.generate_ids(prompts, params)
    sync()
    assert sum(o[0]["n_tokens"] for o in out) == new * len(prompts)
    return time.perf_counter() - t0


def step_times(gen: FastGenerator, slots: int, lengths: list[int], mode: str = "sample", reps: int = 20) -> dict:
    """ms per decode step (graph replay, and eager) at each attention length, state left as is."""
    res = {}
    for length in lengths:
        for graphs in (True, False):
            gen.cuda_graphs = graphs
            with torch.inference_mode():
                gen._replay(slots, length, mode)
                sync()
                t0 = time.perf_counter()
                for _ in range(reps):
                    gen._replay(slots, length, mode)
                sync()
            res[f"L{length}_{'graph' if graphs else 'eager'}_ms"] = 1000 * (time.perf_counter() - t0) / reps
    gen.cuda_graphs = torch.cuda.is_available()
    return res


def profile_step(gen: FastGenerator, slots: int, length: int, path: str) -> None:
    from torch.profiler import ProfilerActivity, profile

    gen.cuda_graphs = False
    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(3):
            gen._replay(slots, length, "sample")
        sync()
    gen.cuda_graphs = True
    with open(path, "w") as f:
        f.write(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25))


def peak_rates() -> dict:
    """Measured bf16 matmul TFLOP/s and device-to-device copy GB/s (read + write)."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn_like(a)
    x = torch.empty(1 << 29, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    for _ in range(3):
        a @ b
        y.copy_(x)
    sync()
    t0 = time.perf_counter()
    for _ in range(10):
        a @ b
    sync()
    flops = 10 * 2 * 8192**3 / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(20):
        y.copy_(x)
    sync()
    bw = 20 * 2 * x.numel() / (time.perf_counter() - t0)
    return {"tflops": flops / 1e12, "tbps": bw / 1e12}


def roofline(cfg, batch: int, prompt: int, new: int, peak: dict) -> dict:
    """Per decode step at the mean context length: matmul FLOPs (2 per weight per token, lm_head
    included, plus attention 4*heads*head_dim*context per layer) and the fewest bytes (every weight
    once, the KV cache read up to each row's context in bf16, logits written and read once)."""
    h, inter, layers, vocab = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, cfg.vocab_size
    heads, kv = cfg.num_attention_heads, cfg.num_key_value_heads
    d = getattr(cfg, "head_dim", None) or h // heads
    ctx = prompt + (new + 1) / 2
    per_layer = h * (heads + 2 * kv) * d + heads * d * h + 3 * h * inter
    weights = layers * per_layer + vocab * h
    flops = batch * (2 * weights + layers * 4 * heads * d * ctx)
    kv_bytes = batch * layers * 2 * kv * d * ctx * 2
    bytes_ = 2 * weights + kv_bytes + batch * vocab * 2 * 2
    t = max(flops / (peak["tflops"] * 1e12), bytes_ / (peak["tbps"] * 1e12))
    return {"gflop_per_step": flops / 1e9, "gb_per_step": bytes_ / 1e9, "kv_gb_per_step": kv_bytes / 1e9,
            "step_ms": 1e3 * t, "tok_per_s": batch / t}


def agreement(model, tok, prompts: list[list[int]], new: int, batch: int) -> dict:
    """Fraction of prompts whose greedy tokens equal hf's (HFGenerator's settings and left padding, up
    to and including EOS); at each first divergence, the fp32 logit gap between the two tokens."""
    params = SamplingParams(temperature=0.0, max_new_tokens=new)
    hf = HFGenerator(model, tok, batch_size=batch)
    ref = []
    for s in range(0, len(prompts), batch):
        ref += _hf_tokens(hf, prompts[s:s + batch], params)
    got = [o[0]["tokens"] for o in FastGenerator(model, tok, max_batch=batch).generate_ids(prompts, params)]
    same = [r == g for r, g in zip(ref, got)]
    diverged = [(p, r, g) for p, r, g, ok in zip(prompts, ref, got, same) if not ok][:64]
    gaps = []
    if diverged:
        import copy

        exact = copy.deepcopy(model).float()
        for p, r, g in diverged:
            k = next((i for i, (a, b) in enumerate(zip(r, g)) if a != b), None)
            if k is None:  # one stopped (EOS) where the other went on: compare at the shorter end
                continue
            with torch.inference_mode():
                logits = exact(torch.tensor([p + r[:k]], device=model.device)).logits[0, -1]
            gaps.append(abs(float(logits[r[k]] - logits[g[k]])))
        del exact
    return {"prompts": len(prompts), "new_tokens": new, "agree": sum(same) / len(same),
            "divergence_gaps": sorted(gaps)}


def _hf_tokens(hf: HFGenerator, prompt_ids, params) -> list[list[int]]:
    width = max(len(p) for p in prompt_ids)
    ids = torch.full((len(prompt_ids), width), hf.pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, p in enumerate(prompt_ids):
        ids[r, width - len(p):] = torch.tensor(p)
        mask[r, width - len(p):] = 1
    with torch.inference_mode():
        seqs = hf.model.generate(input_ids=ids.to(hf.device), attention_mask=mask.to(hf.device),
                                 generation_config=hf._generation_config(params))
    out = []
    for row in seqs[:, width:].tolist():
        k = next((i for i, t in enumerate(row) if t in hf.eos_ids), None)
        out.append(row if k is None else row[:k + 1])
    return out


def make_prompts(path: str, n: int) -> None:
    """Default-task (recipes/default.yaml) eval prompts, as token ids of the default model."""
    from selftaught.core.config import load_config
    from selftaught.models.resolve import load_model
    from selftaught.tasks import build_task

    cfg = load_config("recipes/default.yaml")
    problems = build_task(cfg.task).problems("eval", n, seed=0)
    _, tok = load_model("default", device="cpu")
    ids = HFGenerator.encode(type("G", (), {"tokenizer": tok})(), [p.prompt for p in problems])
    with open(path, "w") as f:
        json.dump(ids, f)
    print(f"wrote {len(ids)} prompts ({min(map(len, ids))}-{max(map(len, ids))} tokens) to {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="random", help="random | gguf:FILE | default | a model folder")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--backends", nargs="+", default=["hf", "fast"])
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--agree-prompts", type=int, default=256, help="random prompts for greedy agreement (0: skip)")
    ap.add_argument("--agree-tokens", type=int, default=128)
    ap.add_argument("--agree-file", help="JSON list of prompt ids (default-task prompts) for real-model agreement")
    ap.add_argument("--agree-fp32", action="store_true", help="also measure agreement with the model in fp32")
    ap.add_argument("--attention", default="sdpa", choices=["sdpa", "triton"], help="fast's decode attention")
    ap.add_argument("--profile", help="write a torch.profiler table of eager decode steps at the largest batch")
    ap.add_argument("--make-prompts", help="write default-task prompt ids to this file and exit")
    ap.add_argument("--out", default="rollout.json")
    args = ap.parse_args()
    if args.make_prompts:
        return make_prompts(args.make_prompts, args.agree_prompts)
    cuda = args.device.startswith("cuda")
    dtype = torch.bfloat16 if cuda else torch.float32
    model, tok = load(args.model, args.device, dtype)
    res: dict = {"model": args.model, "device": torch.cuda.get_device_name() if cuda else platform.processor(),
                 "torch": torch.__version__, "dtype": str(dtype), "prompt_len": args.prompt_len,
                 "new_tokens": args.new_tokens, "temperature": args.temperature, "runs": []}
    if cuda:
        res["peak"] = peak_rates()

    def save():
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)

    gen = FastGenerator(model, tok, max_batch=max(args.batches), stop_on_eos=False, attention=args.attention)
    res["attention"] = args.attention
    g = torch.Generator().manual_seed(1)
    for b in args.batches:
        prompts = torch.randint(100, model.config.vocab_size, (b, args.prompt_len), generator=g)
        row = {"batch": b}
        if "fast" in args.backends:
            try:
                dt = time_fast(gen, prompts.tolist(), args.new_tokens, args.temperature)
            except Exception as e:  # keep the run's other numbers; say what broke
                import traceback

                traceback.print_exc()
                row["fast_error"] = f"{type(e).__name__}: {e}"
                gen = FastGenerator(model, tok, max_batch=max(args.batches), stop_on_eos=False, cuda_graphs=False,
                                    attention=args.attention)
                dt = time_fast(gen, prompts.tolist(), args.new_tokens, args.temperature)
                row["fast_graphs"] = False
            row["fast_s"], row["fast_tok_s"] = dt, b * args.new_tokens / dt
        if "hf" in args.backends:
            dt = time_hf(model, prompts.to(args.device), args.new_tokens, args.temperature, tok.pad_token_id)
            row["hf_s"], row["hf_tok_s"] = dt, b * args.new_tokens / dt
        if "fast_tok_s" in row and "hf_tok_s" in row:
            row["speedup"] = row["fast_tok_s"] / row["hf_tok_s"]
        if cuda:
            row["roofline"] = roofline(model.config, b, args.prompt_len, args.new_tokens, res["peak"])
            if "fast_tok_s" in row:
                row["fraction_of_roofline"] = row["fast_tok_s"] / row["roofline"]["tok_per_s"]
        res["runs"].append(row)
        print(json.dumps(row), flush=True)
        save()
    if cuda and "fast" in args.backends:
        top = max(args.batches)
        lengths = [64 * k for k in range(2, (args.prompt_len + args.new_tokens) // 64 + 1)]
        res["step_ms"] = {top: step_times(gen, top, lengths)}
        if args.profile:
            profile_step(gen, top, lengths[-1], args.profile)
        save()
    del gen
    if args.agree_prompts and not args.agree_file:
        prompts = torch.randint(100, model.config.vocab_size, (args.agree_prompts, args.prompt_len), generator=g)
        res["agreement"] = {str(dtype): agreement(model, tok, prompts.tolist(), args.agree_tokens, 256)}
        save()
        if args.agree_fp32 and dtype != torch.float32:
            res["agreement"]["torch.float32"] = agreement(model.float(), tok, prompts.tolist(), args.agree_tokens, 256)
            model.to(dtype)
    if args.agree_file:
        with open(args.agree_file) as f:
            prompts = json.load(f)[:args.agree_prompts or None]
        res["agreement_default_task"] = {str(dtype): agreement(model, tok, prompts, args.agree_tokens, 64)}
        save()
        if args.agree_fp32 and dtype != torch.float32:
            res["agreement_default_task"]["torch.float32"] = agreement(model.float(), tok, prompts,
                                                                       args.agree_tokens, 64)
    save()
    print_table(res)


def print_table(res: dict) -> None:
    print(f"\n{res['model']} on {res['device']} ({res['dtype']}), {res['prompt_len']}-token prompts, "
          f"{res['new_tokens']} new tokens, T={res['temperature']}")
    print(f"{'batch':>6} {'hf tok/s':>10} {'fast tok/s':>11} {'speedup':>8} {'roofline tok/s':>15} {'fraction':>9}")
    for r in res["runs"]:
        roof = r.get("roofline", {}).get("tok_per_s", math.nan)
        print(f"{r['batch']:>6} {r.get('hf_tok_s', math.nan):>10.0f} {r.get('fast_tok_s', math.nan):>11.0f} "
              f"{r.get('speedup', math.nan):>8.1f} {roof:>15.0f} {r.get('fraction_of_roofline', math.nan):>9.2f}")
    for key in ("agreement", "agreement_default_task"):
        for dt, a in res.get(key, {}).items():
            gaps = a["divergence_gaps"]
            med = gaps[len(gaps) // 2] if gaps else float("nan")
            print(f"{key} ({dt}): {a['agree']:.3f} of {a['prompts']} prompts x {a['new_tokens']} tokens; "
                  f"{len(gaps)} divergences, median fp32 logit gap there {med:.4f}")


if __name__ == "__main__":
    main()
