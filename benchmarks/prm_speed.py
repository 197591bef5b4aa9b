"""PRM-trainer tokens per second: selftaught's hand-written loop (train/prm.py) vs a plain transformers
`Trainer` on the same stepwise records, model, batch size, learning rate and loss, in the same run.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/prm_speed.py --model default --records 64 --threads 1
    PYTHONPATH=src python benchmarks/prm_speed.py --small          # a tiny random Llama: a smoke test

Records: the default task's shape with partial sums as steps ("a + b = c" then "Answer: c"), one wrong
step in half of them. Both variants start from the same weights (a fresh one-logit token-classification
head, seed 0), run one untimed warm-up step, then train one epoch; tokens/s = non-padding tokens / seconds
of the training loop (best of --repeats, the variants alternated). The plain Trainer gets the same collator and the same BCE loss at each step's
last token (a `compute_loss` override: transformers' token-classification loss is a class cross-entropy).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from selftaught.train.prm import VerifierTrainConfig, collate, encode_record, step_loss, train_prm  # noqa: E402


def records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        wrong = i % 2 == 1
        c = a + b + (rng.choice([-10, -1, 1, 10]) if wrong else 0)
        out.append({"prompt": f"What is {a} + {b}?", "completions": [f"{a} + {b} = {c}", f"Answer: {c}"],
                    "labels": [not wrong, not wrong]})
    return out


def model_and_tokenizer(args):
    from transformers import AutoModelForTokenClassification

    from selftaught.models.resolve import load_tokenizer, resolve_model

    torch.manual_seed(0)
    if args.small:
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import make_tiny_model, make_tiny_tokenizer
        from transformers import LlamaForTokenClassification

        tok = make_tiny_tokenizer()
        cfg = make_tiny_model(len(tok)).config
        cfg.num_labels = 1
        return LlamaForTokenClassification(cfg), tok
    folder = resolve_model(args.model)
    model = AutoModelForTokenClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    tok = load_tokenizer(folder)
    model.config.pad_token_id = tok.pad_token_id
    return model, tok


def run_selftaught(args, data) -> dict:
    model, tok = model_and_tokenizer(args)
    cfg = VerifierTrainConfig(epochs=1, learning_rate=args.lr, batch_size=args.batch_size)
    train_prm(model, tok, data[: args.batch_size], cfg, "\n")  # warm-up step, untimed
    model, result = train_prm(model, tok, data, cfg, "\n", seed=1)
    return {"tokens": result.tokens, "seconds": result.seconds, "loss_last": result.losses[-1]}


def run_trainer(args, data) -> dict:
    from transformers import Trainer, TrainerCallback, TrainingArguments

    model, tok = model_and_tokenizer(args)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    rows = [dict(zip(("input_ids", "labels"), encode_record(tok, r, "\n", 512))) for r in data]

    class BCETrainer(Trainer):
        def _get_train_sampler(self, *a, **k):  # in order: the first batch is the warm-up, the rest are timed
            return torch.utils.data.SequentialSampler(self.train_dataset)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            out = model(**inputs)
            loss = step_loss(out.logits, labels)
            return (loss, out) if return_outputs else loss

    class Clock(TrainerCallback):
        start = end = 0.0

        def on_step_end(self, a, state, control, **kw):
            if state.global_step == 1:
                Clock.start = time.time()  # the first step is the warm-up
            Clock.end = time.time()

    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArguments(output_dir=tmp, per_device_train_batch_size=args.batch_size, learning_rate=args.lr,
                                  lr_scheduler_type="constant", num_train_epochs=1, save_strategy="no",
                                  report_to=[], use_cpu=True, disable_tqdm=True, logging_steps=10 ** 6, seed=1)
        trainer = BCETrainer(model=model, args=targs, train_dataset=rows[: args.batch_size] + rows,
                             data_collator=lambda b: collate([(r["input_ids"], r["labels"]) for r in b], pad),
                             callbacks=[Clock()])
        trainer.train()
    return {"tokens": sum(len(r["input_ids"]) for r in rows), "seconds": Clock.end - Clock.start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--records", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = records(args.records)
    runs = {"selftaught": [], "trainer": []}
    for _ in range(args.repeats):  # alternated, so a shared machine's load falls on both
        runs["selftaught"].append(run_selftaught(args, data))
        runs["trainer"].append(run_trainer(args, data))
    result: dict = {}
    for name, rs in runs.items():
        rates = [r["tokens"] / r["seconds"] for r in rs]
        result[name] = {"tokens_per_s": [round(x, 1) for x in rates], "best": round(max(rates), 1)}
    result["ratio_best"] = round(result["selftaught"]["best"] / result["trainer"]["best"], 3)
    result["ratio_per_repeat"] = [round(a / b, 3) for a, b in zip(result["selftaught"]["tokens_per_s"],
                                                                   result["trainer"]["tokens_per_s"])]
    result.update(model="small" if args.small else args.model, records=args.records, batch_size=args.batch_size,
                  threads=args.threads, machine=platform.platform())
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
