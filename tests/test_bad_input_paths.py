"""Bad input that used to end in a traceback: each is one clear SelftaughtError, and no run directory is
made or changed."""

import errno
import shutil

import pytest

from conftest import loop_config
from selftaught.core.errors import DataError, SelftaughtError
from selftaught.core.io import read_jsonl
from selftaught.loop.rounds import run_loop
from selftaught.models.resolve import resolve_model
from selftaught.train.common import save_model


def test_a_binary_jsonl_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "task.jsonl"
    path.write_bytes(b'{"question": "1+1", "answer": "2"}\n\x89PNG\r\n\x1a\n\xff\xfe\n')
    with pytest.raises(DataError, match=r"task.jsonl, line 2: not UTF-8 text \(byte 0x89"):
        read_jsonl(path)


def test_a_model_folder_without_weights_is_refused_before_the_run_dir(tiny_path, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(f"{tiny_path}/config.json", folder / "config.json")
    with pytest.raises(SelftaughtError, match="has no weights"):
        resolve_model(str(folder))
    with pytest.raises(SelftaughtError, match="has no weights"):
        run_loop(loop_config(tiny_path, f"model={folder}", "loop.rounds=0"), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


class _FullDisk:
    def save_pretrained(self, path):
        (path / "part.bin").parent.mkdir(parents=True, exist_ok=True)
        (path / "part.bin").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_saving_leaves_nothing_partial(tmp_path):
    with pytest.raises(SelftaughtError, match="no space left.*rerun the same command to resume"):
        save_model(_FullDisk(), None, tmp_path / "checkpoint")
    assert list(tmp_path.iterdir()) == []


def test_training_silences_trls_deprecated_checkpointing_names(tiny_model_and_tokenizer):
    import warnings

    from selftaught.core.config import TrainConfig
    from selftaught.train.common import common_args

    model, _ = tiny_model_and_tokenizer
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")  # what a plain `python` run starts with
        common_args(TrainConfig(), "cpu", 0, "/tmp/unused")
        model.is_gradient_checkpointing  # noqa: B018  (TRL's DPO/GRPO/LoRA paths read this property)
    assert not [w for w in seen if issubclass(w.category, FutureWarning)]
