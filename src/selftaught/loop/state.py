"""Which model the loop holds in memory, loaded lazily, and the training step that replaces it.

The training step runs here (`launcher: local`) or as `accelerate launch -m selftaught.train.launch`
(`launcher: accelerate`, several GPUs or nodes): then this process frees its model, waits for the
launched processes, and reloads the checkpoint they saved when it next samples or evaluates.
"""

from __future__ import annotations

import gc
import json
import subprocess
from pathlib import Path
from typing import Any

from rich.console import Console

from ..core.config import Config
from ..core.errors import SelftaughtError
from ..core.progress import showing, wants_progress
from ..core.seeds import seed_for
from .rundir import RunDir

LAUNCHERS = ("local", "accelerate")


class ModelState:
    """Holds one model at a time: the base model (round 0) or round r's checkpoint."""

    def __init__(self, cfg: Config, run: RunDir, console: Console, task: Any = None, launcher: str = "local",
                 accelerate_config: str | Path | None = None):
        from ..models import pick_device, resolve_model

        if launcher not in LAUNCHERS:
            raise SelftaughtError(f"unknown launcher {launcher!r}; known: {', '.join(LAUNCHERS)}.")
        if launcher == "accelerate" and (accelerate_config is None or not Path(accelerate_config).is_file()):
            raise SelftaughtError(f"--launcher accelerate needs --accelerate-config FILE (an accelerate config, e.g. "
                                  f"configs/accelerate/ddp.yaml); got {accelerate_config!r}.")
        self.cfg, self.run, self.console, self.task = cfg, run, console, task
        self.launcher, self.accelerate_config = launcher, accelerate_config
        self.show_progress = wants_progress(console)  # bars for sampling, eval, training, server waits
        self.base_path = resolve_model(cfg.model)  # fails before the run directory is touched
        self.device = pick_device(cfg.device)
        self.model = self.tokenizer = None
        self.holds: int | None = None  # round whose weights are loaded
        self.served: int | None = None  # round whose checkpoint the server was told to serve (openai)
        self._tokenizer_of: tuple[int | None, Any] = (None, None)  # (round, its tokenizer), backend openai

    @property
    def prompt_format(self) -> str:
        """"chat" or "plain": `prompt.format` resolved with the run's tokenizer (`auto`: by its chat template),
        as the backends resolve it; training records are written in this format."""
        if not hasattr(self, "_prompt_format"):
            from ..tasks.formats import resolve_prompt_format

            tokenizer = self.tokenizer
            if self.cfg.prompt.format != "plain" and tokenizer is None:
                from ..models.resolve import load_tokenizer

                tokenizer = load_tokenizer(self.base_path)
            self._prompt_format = resolve_prompt_format(self.cfg.prompt.format, tokenizer)
        return self._prompt_format

    def checkpoint_of(self, index: int) -> str:
        return self.base_path if index == 0 else str(self.run.checkpoint(index))

    @property
    def dtype(self) -> str:
        # Weights stay float32 unless asked otherwise: training updates of ~1e-5 vanish in bf16
        # weights; on a GPU the trainer uses bf16 autocast instead.
        return "float32" if self.cfg.dtype == "auto" else self.cfg.dtype

    def ensure(self, index: int) -> None:
        """Load round `index`'s model unless it is the one in memory."""
        if self.holds == index:
            return
        from ..models import load_model

        if self.cfg.threads:
            import torch

            torch.set_num_threads(self.cfg.threads)
        self.model, self.tokenizer = load_model(self.checkpoint_of(index), self.device, self.dtype)
        self.holds = index

    def release(self) -> None:
        """Drop the model from memory (before other processes train on the same devices)."""
        self.model = self.tokenizer = None
        self.holds = None
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def generator(self, index: int, batch_size: int | None = None, matmul_dtype: str = "model"):
        """A generator over round `index`'s model (`batch_size` sequences at a time; `matmul_dtype`:
        backend fast's matmul precision, see SamplingConfig.matmul_dtype)."""
        from ..models import build_generator

        if self.cfg.backend == "vllm":  # vLLM loads the checkpoint folder itself
            return build_generator(self.cfg, self.checkpoint_of(index), None)
        if self.cfg.backend == "openai":  # the servers hold the weights; the tokenizer counts tokens
            from ..models.resolve import load_tokenizer

            if self.served != index:
                from ..models.openai_backend import reload_server

                reload_server(self.cfg, self.checkpoint_of(index),  # no-op without server.reload_command
                              show_progress=self.show_progress)
                self.served = index
            if self._tokenizer_of[0] != index:  # loaded once per round, not once per generation step
                self._tokenizer_of = (index, load_tokenizer(self.checkpoint_of(index)))
            generator = build_generator(self.cfg, None, self._tokenizer_of[1])
        else:
            self.ensure(index)
            generator = build_generator(self.cfg, self.model, self.tokenizer)
        if batch_size and hasattr(generator, "batch_size"):
            generator.batch_size = batch_size
        if hasattr(generator, "set_matmul_dtype"):
            generator.set_matmul_dtype(matmul_dtype)
        if hasattr(generator, "progress"):
            generator.progress = self.show_progress
        return generator

    def train(self, index: int, records: list[dict[str, Any]], base: int) -> dict[str, Any]:
        """Train round `base`'s model on `records` (by train.method) into round index's checkpoint."""
        log_path = self.run.path(index, "train.json")
        if self.run.checkpoint(index).exists() and log_path.exists():
            return json.loads(log_path.read_text())
        if not records:
            self.console.print("[yellow]no training data this round: the model is carried over unchanged[/]")
            self.ensure(base)
            from ..train import save_model

            save_model(self.model, self.tokenizer, self.run.checkpoint(index))
            metrics: dict[str, Any] = {"train/steps": 0, "train/tokens": 0}
            self.holds = index
        else:
            t = self.cfg.train
            self.console.print(f"training ({t.method}{', accelerate launch' if self.launcher != 'local' else ''}): "
                               f"{len(records)} records, {t.epochs:g} epochs")
            metrics = self._launch(index, base) if self.launcher == "accelerate" else self._train_here(
                index, records, base)
        from ..core.io import write_json

        write_json(log_path, metrics)
        return metrics

    def _log_dir(self, index: int) -> Path | None:
        return self.run.root / "tb" / f"round_{index:03d}" if self.cfg.train.report_to == "tensorboard" else None

    def _ref_path(self, base: int) -> str | None:
        """train.dpo.ref: base -> the run's starting model, unless the round starts from it anyway."""
        t = self.cfg.train
        return self.base_path if t.method == "dpo" and t.dpo.ref == "base" and base != 0 else None

    def _train_here(self, index: int, records: list[dict[str, Any]], base: int) -> dict[str, Any]:
        from ..models import load_model
        from ..train import train_round

        self.ensure(base)
        ref_path = self._ref_path(base)
        ref_model = load_model(ref_path, self.device, self.dtype)[0] if ref_path else None
        with showing(self.show_progress):  # the trainers' step bar
            self.model, result = train_round(self.cfg, self.model, self.tokenizer, records, self.device,
                                             seed_for(self.cfg.seed, "train", index), self.run.checkpoint(index),
                                             task=self.task, ref_model=ref_model, log_dir=self._log_dir(index),
                                             base_path=self.checkpoint_of(base))
        self.holds = index
        metrics = result.metrics()
        metrics["train/loss_curve"] = result.losses
        return metrics

    def _launch(self, index: int, base: int) -> dict[str, Any]:
        """The training step under `accelerate launch`, reading the round's records file."""
        from ..train import records_file
        from ..train.launch import build_command, child_env

        records = self.run.path(index, records_file(self.cfg.train.method))
        if not records.exists():
            raise SelftaughtError(f"{records} is missing: the launched training step reads it.")
        metrics_path = self.run.path(index, "train_launch.json")
        metrics_path.unlink(missing_ok=True)  # a stale file from an earlier failed attempt
        cmd = build_command(self.accelerate_config, self.run.config_path, records, self.checkpoint_of(base),
                            self.run.checkpoint(index), seed_for(self.cfg.seed, "train", index), metrics_path,
                            ref_model=self._ref_path(base), log_dir=self._log_dir(index))
        self.release()
        self.console.print(" ".join(cmd), highlight=False, soft_wrap=True)
        done = subprocess.run(cmd, env=child_env())
        if done.returncode != 0 or not metrics_path.exists() or not self.run.checkpoint(index).exists():
            raise SelftaughtError(f"round {index}: the training step under accelerate launch failed (exit "
                                  f"{done.returncode}); its output is above. Command: {' '.join(cmd)}")
        return json.loads(metrics_path.read_text())
