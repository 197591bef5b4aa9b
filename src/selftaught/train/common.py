"""What every trainer shares: arguments, LoRA, the result record, and saving a round's model.

Every method trains with a TRL trainer, LoRA (when `train.lora.enabled`) through PEFT, and ends
with `finish`: the adapter is merged into the weights and the model saved with `save_pretrained`,
so a round's checkpoint is a plain model folder that transformers and vLLM load directly. Under
`accelerate launch` with several processes (DDP, DeepSpeed, FSDP) `finish` saves through the
trainer, which gathers sharded weights, and the main process merges the adapter afterwards.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import shutil
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch

from ..core.config import TrainConfig
from ..core.errors import SelftaughtError
from ..core.progress import progress

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    tokens: int = 0  # tokens seen by the model (prompt + completion, summed over epochs)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # method-specific "train/..." metrics

    def metrics(self) -> dict[str, Any]:
        return {
            "train/loss": self.losses[-1] if self.losses else None,
            "train/loss_first": self.losses[0] if self.losses else None,
            "train/steps": self.steps,
            "train/tokens": self.tokens,
            "train/seconds": round(self.seconds, 2),
            "train/tokens_per_s": round(self.tokens / self.seconds, 1) if self.seconds else None,
            **self.extra,
        }


def lora_config(cfg: TrainConfig):
    from peft import LoraConfig

    lc = cfg.lora
    return LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout,
                      target_modules=lc.target_modules, task_type="CAUSAL_LM")


def use_bf16(cfg: TrainConfig, device: str) -> bool:
    """bf16 mixed precision: `train.bf16`, or (None) on a GPU that supports it; weights stay float32."""
    if cfg.bf16 is not None:
        return cfg.bf16
    return device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def ignore_trl_deprecations() -> None:
    """Silence the FutureWarnings TRL 1.x triggers by still using transformers' deprecated names
    (`gradient_checkpointing`, `is_gradient_checkpointing`): nothing a user can act on. Called before each
    trainer is built, so the filter is in place wherever training runs."""
    warnings.filterwarnings("ignore", message=r"`(is_)?gradient_checkpointing` is deprecated", category=FutureWarning)


def common_args(cfg: TrainConfig, device: str, seed: int, output_dir: str) -> dict[str, Any]:
    """TrainingArguments every method uses (TRL's SFTConfig / DPOConfig / GRPOConfig take them all)."""
    ignore_trl_deprecations()
    on_gpu = device.startswith("cuda")
    return dict(
        output_dir=output_dir,
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        logging_steps=1,
        save_strategy="no",
        report_to=[] if cfg.report_to == "none" else [cfg.report_to],
        seed=seed,
        data_seed=seed,
        use_cpu=not on_gpu,
        bf16=use_bf16(cfg, device),
        disable_tqdm=True,
        dataloader_num_workers=0,
        # TRL turns it on by default; it trades ~30% more compute for memory a small model does not need.
        gradient_checkpointing=cfg.gradient_checkpointing,
    )


@contextmanager
def tracker_dir(cfg: TrainConfig, log_dir: str | Path | None) -> Iterator[None]:
    """Point the trainer's TensorBoard callback at `log_dir` (transformers reads TENSORBOARD_LOGGING_DIR)."""
    if cfg.report_to != "tensorboard" or log_dir is None:
        yield
        return
    old = os.environ.get("TENSORBOARD_LOGGING_DIR")
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(log_dir)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TENSORBOARD_LOGGING_DIR", None)
        else:
            os.environ["TENSORBOARD_LOGGING_DIR"] = old


@contextmanager
def labelled_positions_only() -> Iterator[None]:
    """Make TRL's fused LM head score only the positions with a label on every device.

    TRL (1.16) projects only the labelled positions through the LM head on Triton devices, but every
    position elsewhere, to keep tile shapes static for graph compilers (Neuron). On an eager CPU that
    is wasted work: with completion-only loss most positions are prompt, and the 49k-vocab head over
    all of them is thrown away; losses are identical either way (tests). DPO and GRPO
    use the same fused head. TRL has no option for it, so this swaps the private predicate that decides
    it while a loss is computed (the same path TRL takes on a GPU).
    """
    import trl.trainer.utils as trl_utils

    original = getattr(trl_utils, "_use_triton", None)
    if original is None:  # another TRL version: leave it alone
        yield
        return
    trl_utils._use_triton = lambda device: device.type == "cpu" or original(device)
    try:
        yield
    finally:
        trl_utils._use_triton = original


def quiet_trainer(trainer) -> None:
    """Log lines go to metrics.json / train.json, not stdout."""
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def train_with_progress(trainer):
    """`trainer.train()` under a rich bar that advances per optimizer step and shows the last loss (shown
    inside the loop's `core.progress.showing(True)`, i.e. on a terminal; TRL's own tqdm stays disabled).
    The bar closes however training ends (an error or Ctrl-C included)."""
    with progress("Training", None, enabled=None, unit="step") as advance:
        trainer.add_callback(StepBar(advance))
        return trainer.train()


@functools.cache
def _step_bar_class():
    from transformers import TrainerCallback

    class _StepBar(TrainerCallback):
        """Drives a `core.progress` bar: its total from the trainer's max_steps, one step per optimizer step."""

        def __init__(self, advance) -> None:
            self.advance = advance

        def on_train_begin(self, args, state, control, **kwargs):
            self.advance(0, total=state.max_steps)

        def on_step_end(self, args, state, control, **kwargs):
            self.advance(1)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and logs.get("loss") is not None:
                self.advance(0, label=f"Training (loss {logs['loss']:.4g})")

    return _StepBar


def StepBar(advance):  # noqa: N802 - a class built on first use, so importing this module stays light
    """The TrainerCallback that drives a progress bar's `advance` (see `train_with_progress`)."""
    return _step_bar_class()(advance)


def result_of(trainer, out, start: float, keys: dict[str, str] | None = None) -> TrainResult:
    """TrainResult from a finished trainer; `keys` maps logged names to "train/..." means over steps."""
    history = trainer.state.log_history
    extra = {}
    for logged, name in (keys or {}).items():
        values = [h[logged] for h in history if logged in h and h[logged] is not None]
        if values:  # a key the trainer never logged (kl without beta, ...) is left out
            extra[name] = round(sum(values) / len(values), 6)
    return TrainResult(
        losses=[h["loss"] for h in history if "loss" in h],
        steps=out.global_step,
        tokens=int(trainer.state.num_input_tokens_seen or _last(history, "num_tokens") or 0),
        seconds=time.time() - start,
        extra=extra,
    )


def _last(history: list[dict[str, Any]], key: str) -> Any:
    values = [h[key] for h in history if key in h]
    return values[-1] if values else None


def is_distributed(trainer) -> bool:
    from accelerate.utils import DistributedType

    acc = trainer.accelerator
    return acc.num_processes > 1 or acc.distributed_type in (DistributedType.DEEPSPEED, DistributedType.FSDP)


def finish(trainer, tokenizer, cfg: TrainConfig, save_dir: str | Path | None, base_path: str | None = None):
    """The trained model, LoRA merged, in eval mode, saved to `save_dir` when given.

    Under several processes the weights may be sharded: the trainer saves them (gathered) and the
    main process merges the adapter onto `base_path` (the round's starting model); returns None then.
    """
    if is_distributed(trainer):
        if save_dir is None:
            raise ValueError("a distributed training run must save its model (save_dir)")
        _save_distributed(trainer, tokenizer, cfg, Path(save_dir), base_path)
        return None
    # accelerate wraps forward in a bf16 autocast when training mixed-precision on a GPU; unwrap it,
    # or every later generate/eval with this model object would silently run in bf16.
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    if cfg.lora.enabled:
        model = model.merge_and_unload()
    model.eval()
    if save_dir is not None:
        save_model(model, tokenizer, save_dir)
    return model


def _save_distributed(trainer, tokenizer, cfg: TrainConfig, save_dir: Path, base_path: str | None) -> None:
    from accelerate.utils import DistributedType

    acc = trainer.accelerator
    staging = save_dir.with_name(save_dir.name + ".trainer")
    if acc.is_main_process and staging.exists():
        shutil.rmtree(staging)  # left by an earlier failed attempt
    acc.wait_for_everyone()
    if acc.distributed_type == DistributedType.FSDP:
        # The Trainer saves FSDP weights only with a full state dict (FSDP2's default is sharded: it
        # would save nothing); a round's checkpoint is a plain model folder, so gather it here.
        plugin = acc.state.fsdp_plugin
        plugin.state_dict_config = plugin.optim_state_dict_config = None
        plugin.set_state_dict_type("FULL_STATE_DICT")
    trainer.save_model(str(staging))  # collective: gathers ZeRO-3 / FSDP shards; the main process writes
    acc.wait_for_everyone()
    if acc.is_main_process:
        if not any(p.suffix == ".safetensors" or p.name.endswith("model.bin") for p in staging.glob("*")):
            raise RuntimeError(
                f"the trainer saved no model weights to {staging} ({acc.distributed_type.value}); with DeepSpeed "
                f"ZeRO-3 set zero3_save_16bit_model: true in the accelerate config")
        if cfg.lora.enabled:
            if base_path is None:
                raise ValueError("merging a LoRA adapter saved by several processes needs the base model path")
            with _no_zero3_loading():
                merge_adapter(base_path, staging, tokenizer, save_dir)
        else:
            tokenizer.save_pretrained(staging)
            (staging / "training_args.bin").unlink(missing_ok=True)
            if save_dir.exists():
                shutil.rmtree(save_dir)
            os.replace(staging, save_dir)
        shutil.rmtree(staging, ignore_errors=True)
    acc.wait_for_everyone()


@contextmanager
def _no_zero3_loading() -> Iterator[None]:
    """Under DeepSpeed ZeRO-3 `from_pretrained` partitions a model across the processes as it loads it
    (a collective): the main process merging LoRA alone would wait for the others forever."""
    from transformers.integrations import deepspeed as hf_deepspeed

    ref = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        yield
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = ref


def merge_adapter(base_path: str, adapter_dir: str | Path, tokenizer, save_dir: str | Path) -> None:
    """Load `base_path` on the CPU, apply the PEFT adapter in `adapter_dir`, merge, and save."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ignore_trl_deprecations()  # PEFT reads the deprecated is_gradient_checkpointing as TRL does
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    save_model(merged, tokenizer, save_dir)


def save_model(model, tokenizer, save_dir: str | Path) -> None:
    """save_pretrained into `save_dir` atomically: write to a sibling temp folder, then rename."""
    save_dir = Path(save_dir)
    tmp = save_dir.with_name(save_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise SelftaughtError(f"no space left on the device while saving the model to {save_dir} (nothing "
                                  "partial was kept); free some disk and rerun the same command to resume.") from None
        raise
    if save_dir.exists():
        shutil.rmtree(save_dir)
    os.replace(tmp, save_dir)
