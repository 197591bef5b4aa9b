"""SFT tokens per second: TRL SFTTrainer's defaults vs selftaught's settings, same data, model and seed.

Both variants train a fresh copy of the same float32 weights on the same prompt/completion records
(chat prompts of the default recipe's task, basic_arithmetic, with 2-6 few-shot examples: ~105-240
tokens; completions a short worked answer, ~15-25 tokens), the same batches in the same order
(same seed), the same learning rate and schedule. They differ only in the trainer's speed settings:

    trl         SFTConfig with only output_dir, num_train_epochs, per_device_train_batch_size and
                learning_rate set (plus lr_scheduler_type, so both use one schedule, and
                logging_steps=1 / save_strategy=no / seed / use_cpu on a CPU): TRL's defaults, i.e.
                gradient checkpointing on, bf16 autocast on (CPU too), batches padded to their longest
    selftaught  `selftaught.train.sft.sft_trainer` (what `train_sft` trains with), TrainConfig with the
                same learning rate, epochs and batch size and its speed fields at their defaults
                (`selftaught:key=value,...` overrides TrainConfig fields, e.g. padding_free=true)

Tokens/s = tokens the model trains on (the tokenised records, no padding, times epochs) / seconds of
`trainer.train()`, after an untimed 3-step warm-up of every variant. Loss curves: TRL's logged loss
at every step; the JSON has every curve, the largest per-step difference from the first variant, and
with --repeats 2+ the variant's own run-to-run difference (GPU kernels are not bit-deterministic).

    python benchmarks/sft.py --model default --device cuda --repeats 2 --out runs/bench-sft.json
    python benchmarks/sft.py --small                        # tiny random model on the CPU: a smoke test
    python benchmarks/sft.py --variant trl --variant selftaught --variant "selftaught:padding_free=true"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "default.yaml"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="default",
                   help="`default` (SmolLM2-135M-Instruct via selftaught.models.resolve_model), a model folder or "
                   "Hub id, or `random` (random weights of SmolLM2-135M's shape, the default model's tokenizer)")
    p.add_argument("--tokenizer", default=None, help="tokenizer folder for `random` / --small (default: the default "
                   "model's)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--records", type=int, default=512, help="training records")
    p.add_argument("--batch-size", type=int, default=8, help="per-device batch size (train.batch_size)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--few-shot", default="2-6", help="few-shot examples per prompt: N or LO-HI (drawn per record)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--repeats", type=int, default=1,
                   help="timed runs per variant (fastest kept; curves from the first)")
    p.add_argument("--variant", action="append", default=None,
                   help="`trl`, `selftaught`, or `selftaught:key=value,...` (TrainConfig overrides); repeatable; "
                   "default: trl and selftaught")
    p.add_argument("--small", action="store_true",
                   help="tiny random model, 16 records, batch 4: a CPU smoke test (~1-2 min)")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    return p.parse_args(argv)


# ---------------------------------------------------------------- data


def make_records(n: int, few_shot: str, seed: int) -> list[dict]:
    """Prompt/completion records: the default recipe's task prompts, worked answers as completions."""
    lo, _, hi = few_shot.partition("-")
    shots = list(range(int(lo), int(hi or lo) + 1))
    rng = random.Random(seed)
    from selftaught.core.config import load_config
    from selftaught.tasks import ReasoningGymTask

    options = load_config(RECIPE, []).task.options  # the default recipe's task
    per_k = {k: ReasoningGymTask("basic_arithmetic", options, k, None).problems("train", n, seed + k) for k in shots}
    prompts = [per_k[rng.choice(shots)][i].prompt for i in range(n)]
    records = []
    for prompt in prompts:
        question = prompt[-1]["content"]
        expr = question.removeprefix("Calculate ").rstrip(".").strip("() ")
        try:
            value = int(eval(expr, {"__builtins__": {}}))  # noqa: S307 - the task's own arithmetic
        except Exception:
            value = rng.randint(-99, 99)
        steps = rng.choice(["We evaluate {e} term by term: {e} = {v}.", "First, {e}. Working it out gives {v}.",
                            "To compute {e}, combine the two numbers: the result is {v}."])
        completion = steps.format(e=expr, v=value) + f"\nAnswer: {value}"
        records.append({"prompt": prompt, "completion": [{"role": "assistant", "content": completion}]})
    return records


# ---------------------------------------------------------------- models


def tiny_llama_config(vocab: int):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                       tie_word_embeddings=True)


def smollm2_135m_config(vocab: int):
    from transformers import LlamaConfig

    from rollout import SMOLLM2_135M  # the shape benchmarks/rollout.py uses

    return LlamaConfig(**{**SMOLLM2_135M, "vocab_size": vocab})


class Weights:
    """One set of float32 weights; `fresh()` gives a new model with them on the device each call."""

    def __init__(self, model_arg: str, small: bool, seed: int, tokenizer: str | None = None):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from selftaught.models import resolve_model
        from selftaught.models.resolve import prepare_tokenizer

        if small or model_arg == "random":
            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer or resolve_model("default"))
            cfg = (tiny_llama_config if small else smollm2_135m_config)(len(self.tokenizer))
            cfg.bos_token_id, cfg.eos_token_id = self.tokenizer.bos_token_id, self.tokenizer.eos_token_id
            torch.manual_seed(seed)
            self._tmp = tempfile.TemporaryDirectory(prefix="bench-sft-model-")  # saved once: fast to reload
            AutoModelForCausalLM.from_config(cfg).save_pretrained(self._tmp.name)
            self.folder, self.name = self._tmp.name, "tiny random Llama" if small else "random SmolLM2-135M shape"
        else:
            self.folder = resolve_model(model_arg)
            self.tokenizer = AutoTokenizer.from_pretrained(self.folder)
            self.name = model_arg
        prepare_tokenizer(self.tokenizer)

    def fresh(self, device: str):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(self.folder, dtype=torch.float32).to(device)


# ---------------------------------------------------------------- trainers


def trl_trainer(model, tokenizer, records, args, device: str, output_dir: str):
    import datasets
    from trl import SFTConfig, SFTTrainer

    config = SFTConfig(output_dir=output_dir, num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
                       learning_rate=args.lr, lr_scheduler_type="constant", logging_steps=1, save_strategy="no",
                       seed=args.seed, report_to=[], disable_tqdm=True, use_cpu=not device.startswith("cuda"))
    return SFTTrainer(model=model, args=config, train_dataset=datasets.Dataset.from_list(records),
                      processing_class=tokenizer)


def train_config(args, overrides: dict[str, str]):
    import yaml

    from selftaught.core.config import TrainConfig

    base = {"learning_rate": args.lr, "epochs": args.epochs, "batch_size": args.batch_size, "lr_scheduler": "constant"}
    return TrainConfig(**base, **{k: yaml.safe_load(v) for k, v in overrides.items()})


def selftaught_trainer(model, tokenizer, records, args, device: str, output_dir: str, overrides: dict[str, str]):
    from selftaught.train.sft import sft_trainer

    return sft_trainer(model, tokenizer, records, train_config(args, overrides), device, args.seed, output_dir)


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    name, _, rest = spec.partition(":")
    if name not in ("trl", "selftaught"):
        raise SystemExit(f"unknown variant {spec!r}: use trl, selftaught or selftaught:key=value,...")
    overrides = dict(kv.split("=", 1) for kv in rest.split(",") if kv)
    if overrides and name == "trl":
        raise SystemExit("overrides apply to selftaught variants only")
    return name, overrides


def describe(trainer) -> dict:
    a = trainer.args
    return {"bf16": a.bf16, "gradient_checkpointing": a.gradient_checkpointing, "padding_free": a.padding_free,
            "packing": a.packing, "max_length": a.max_length,
            "attn_implementation": trainer.model.config._attn_implementation}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_variant(spec: str, weights: Weights, records, args, device: str, warm: bool = False) -> dict:
    name, overrides = parse_variant(spec)
    model = weights.fresh(device)
    attn = overrides.pop("attn", None)  # exploring: another attention implementation for this variant
    if attn:
        model.set_attn_implementation(attn)
    with tempfile.TemporaryDirectory(prefix="bench-sft-") as tmp:
        if name == "trl":
            trainer = trl_trainer(model, weights.tokenizer, records, args, device, tmp)
        else:
            trainer = selftaught_trainer(model, weights.tokenizer, records, args, device, tmp, overrides)
        if warm:  # a few steps, untimed: kernels, allocator, autotuning
            trainer.args.max_steps = 3
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
        tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
        sync(device)
        start = time.perf_counter()
        trainer.train()
        sync(device)
        seconds = time.perf_counter() - start
    history = trainer.state.log_history
    steps = trainer.state.global_step
    tokens_trained = tokens * args.epochs  # every epoch sees every record
    row = {"variant": spec, "settings": describe(trainer), "seconds": round(seconds, 3), "steps": steps,
           "tokens": int(tokens_trained), "records": len(trainer.train_dataset),
           "tokens_per_s": round(tokens_trained / seconds, 1),
           "losses": [h["loss"] for h in history if "loss" in h]}
    del trainer, model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return row


def compare(base: list[float], other: list[float]) -> dict:
    n = min(len(base), len(other))
    if n == 0:
        return {"steps_compared": 0}
    diffs = [abs(a - b) for a, b in zip(base[:n], other[:n])]
    tail = max(1, n // 4)
    # the baseline's own step-to-step noise over the same tail, for scale
    noise = statistics.pstdev(base[n - tail:n]) if tail > 1 else None
    return {"steps_compared": n, "max_abs_loss_diff": round(max(diffs), 5),
            "mean_abs_loss_diff": round(sum(diffs) / n, 5),
            "tail_mean_loss": [round(sum(base[n - tail:n]) / tail, 5), round(sum(other[n - tail:n]) / tail, 5)],
            "tail_loss_std_baseline": round(noise, 5) if noise is not None else None,
            "first_loss": [round(base[0], 5), round(other[0], 5)],
            "last_loss": [round(base[n - 1], 5), round(other[n - 1], 5)]}


def machine(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}"


def commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return None


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.small:
        args.records = min(args.records, 16)
        args.batch_size = min(args.batch_size, 4)
    if args.threads:
        torch.set_num_threads(args.threads)
    from selftaught.cli.main import quiet_libraries
    from selftaught.models.resolve import pick_device

    quiet_libraries()
    device = str(pick_device(args.device))
    variants = args.variant or ["trl", "selftaught"]
    weights = Weights(args.model, args.small, args.seed, args.tokenizer)
    records = make_records(args.records, args.few_shot, args.seed)
    for spec in dict.fromkeys(variants):  # warm-up: a few untimed steps of each distinct variant
        run_variant(spec, weights, records, args, device, warm=True)
    rows = []
    for spec in variants:
        runs = [run_variant(spec, weights, records, args, device) for _ in range(max(1, args.repeats))]
        best = min(runs, key=lambda r: r["seconds"])
        rows.append({**runs[0], "seconds": best["seconds"], "tokens_per_s": best["tokens_per_s"],
                     "all_seconds": [r["seconds"] for r in runs],
                     # run-to-run noise of this very variant (GPU kernels are not bit-deterministic)
                     "repeat_max_abs_loss_diff": max((compare(runs[0]["losses"], r["losses"])["max_abs_loss_diff"]
                                                      for r in runs[1:]), default=None)})
    base = rows[0]
    for row in rows:
        row["speedup"] = round(row["tokens_per_s"] / base["tokens_per_s"], 3)
        row["vs_first"] = compare(base["losses"], row["losses"])
    result = {
        "command": "python benchmarks/sft.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": weights.name, "device": device, "machine": machine(device), "commit": commit(),
        "records": len(records), "batch_size": args.batch_size, "epochs": args.epochs, "seed": args.seed,
        "versions": versions(), "rows": rows,
    }
    names = [r["variant"] for r in rows]
    if "trl" in names and "selftaught" in names:  # selftaught's settings vs TRL's defaults
        ours = rows[names.index("selftaught")]
        result["ratio"] = round(ours["tokens_per_s"] / rows[names.index("trl")]["tokens_per_s"], 3)
        result["max_abs_loss_diff"] = compare(rows[names.index("trl")]["losses"], ours["losses"]).get(
            "max_abs_loss_diff")
    print_table(result)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


def versions() -> dict:
    import transformers
    import trl

    return {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__}


def print_table(result: dict) -> None:
    print(f"model {result['model']}, {result['device']} ({result['machine']}), {result['records']} records, "
          f"batch {result['batch_size']}, {result['epochs']:g} epochs, {result['versions']}")
    print(f"{'variant':40s} {'tok/s':>9s} {'x':>6s} {'sec':>8s} {'steps':>5s} {'maxΔloss':>9s} {'tailΔ':>8s} "
          f"{'rep.Δ':>7s}  settings")
    for r in result["rows"]:
        c = r["vs_first"]
        tail = c.get("tail_mean_loss") or [0, 0]
        s = r["settings"]
        print(f"{r['variant'][:40]:40s} {r['tokens_per_s']:9.1f} {r['speedup']:6.2f} {r['seconds']:8.2f} "
              f"{r['steps']:5d} {c.get('max_abs_loss_diff', 0):9.4f} {tail[1] - tail[0]:8.4f} "
              f"{'' if r['repeat_max_abs_loss_diff'] is None else format(r['repeat_max_abs_loss_diff'], '.4f'):>7s}  "
              f"bf16={s['bf16']} gc={s['gradient_checkpointing']} padding_free={s['padding_free']} "
              f"packing={s['packing']} attn={s['attn_implementation']}")
    if "ratio" in result:
        print(f"selftaught / trl tokens/s: {result['ratio']:.2f}x; largest per-step loss difference "
              f"{result['max_abs_loss_diff']:.4f}")


if __name__ == "__main__":
    main()
