"""One round's training step as its own program, for `accelerate launch` (several GPUs or nodes).

    accelerate launch --config_file configs/accelerate/ddp.yaml -m selftaught.train.launch \\
        --config runs/NAME/config.yaml --records runs/NAME/rounds/003/selected.jsonl \\
        --model runs/NAME/rounds/002/checkpoint --out runs/NAME/rounds/003/checkpoint

Every process loads the starting model and the records; the trainer (TRL, through accelerate)
splits the batches, and the main process writes the checkpoint and `--metrics` (a JSON object of
"train/..." metrics). `selftaught run --launcher accelerate` starts this for each round's training
step while sampling and evaluation stay in its own process (`build_command`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def build_command(accelerate_config: str | Path, run_config: str | Path, records: str | Path, model: str,
                  out: str | Path, seed: int, metrics: str | Path, ref_model: str | None = None,
                  log_dir: str | Path | None = None) -> list[str]:
    """The `accelerate launch ... -m selftaught.train.launch ...` command line for one round."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config),
           "-m", "selftaught.train.launch", "--config", str(run_config), "--records", str(records),
           "--model", str(model), "--out", str(out), "--seed", str(seed), "--metrics", str(metrics)]
    if ref_model:
        cmd += ["--ref-model", str(ref_model)]
    if log_dir:
        cmd += ["--log-dir", str(log_dir)]
    return cmd


def child_env() -> dict[str, str]:
    """The environment for the launched processes: they import what this process imports
    (selftaught from this checkout, a user's `module:function` task found on sys.path)."""
    import selftaught

    env = dict(os.environ)
    paths = [str(Path(selftaught.__file__).resolve().parents[1])] + [p for p in sys.path if p and os.path.isdir(p)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m selftaught.train.launch", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="The run's resolved config.yaml.")
    p.add_argument("--records", required=True, help="JSONL training records (selected, pairs or problems).")
    p.add_argument("--model", required=True, help="The round's starting model folder.")
    p.add_argument("--out", required=True, help="Where the trained (merged) model is saved.")
    p.add_argument("--seed", type=int, default=0, help="Training seed.")
    p.add_argument("--metrics", default=None, help="JSON file for the training metrics (main process).")
    p.add_argument("--ref-model", default=None, help="dpo: the reference model folder (default: --model).")
    p.add_argument("--log-dir", default=None, help="Tracker folder (train.report_to: tensorboard).")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from accelerate import PartialState

    from ..core.config import load_config
    from ..core.io import read_jsonl, write_json
    from ..models import load_model, pick_device
    from .round import train_round, trainer_spec

    args = parse_args(argv)
    cfg = load_config(args.config)
    device = pick_device(cfg.device)
    # Joins the process group accelerate launch set up (gloo when training on the CPU).
    state = PartialState(cpu=not device.startswith("cuda"))
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    dtype = "float32" if cfg.dtype == "auto" else cfg.dtype
    # Loaded on the CPU: the trainer moves each process's copy to its own device.
    model, tokenizer = load_model(args.model, "cpu", dtype)
    ref_model = load_model(args.ref_model, "cpu", dtype)[0] if args.ref_model else None
    task = None
    if trainer_spec(cfg.train.method).needs_task:
        from ..tasks import build_task

        task = build_task(cfg.task)
    records = read_jsonl(args.records)
    _, result = train_round(cfg, model, tokenizer, records, device, args.seed, args.out, task=task,
                            ref_model=ref_model, log_dir=args.log_dir, base_path=args.model)
    kind = state.distributed_type.value  # the trainer's: FSDP, DEEPSPEED, MULTI_GPU, MULTI_CPU (gloo)
    if state.is_main_process and os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true" and kind != "FSDP":
        print(f"warning: the accelerate config asks for FSDP, but accelerate trained with {kind} (it runs "
              f"an FSDP config on the CPU as plain data parallel)", file=sys.stderr)
    if state.is_main_process and args.metrics:
        metrics: dict[str, Any] = result.metrics()
        metrics["train/loss_curve"] = result.losses
        metrics["train/processes"] = state.num_processes
        metrics["train/distributed_type"] = kind
        write_json(args.metrics, metrics)
    state.wait_for_everyone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
