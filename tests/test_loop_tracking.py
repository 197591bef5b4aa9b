"""train.report_to: the loop's per-round metrics go to the tracker; a missing package is a clear
error before anything is written."""

import importlib.util
import sys
import types

import pytest

from conftest import make_tiny_llama
from selftaught.core.config import load_config
from selftaught.core.errors import ConfigError
from selftaught.loop.rounds import run_loop
from selftaught.loop.tracking import check_tracker


def config(tiny, *extra):
    return load_config(None, ["task.callable=loop_task:make_task", f"model={tiny}", "device=cpu", "task.n_train=3",
                              "task.n_eval=3", "sampling.n=2", "sampling.max_new_tokens=4", "eval.max_new_tokens=4",
                              "sampling.temperature=1.0", "train.epochs=1", "train.batch_size=4", "loop.rounds=1",
                              *extra])


def hide(monkeypatch, package):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a))


@pytest.mark.parametrize("kind", ["tensorboard", "wandb"])
def test_missing_tracker_package_is_named_before_the_run_starts(tmp_path, monkeypatch, kind):
    hide(monkeypatch, kind)
    with pytest.raises(ConfigError, match=f"pip install {kind}"):
        check_tracker(kind)
    with pytest.raises(ConfigError, match="train.report_to"):
        run_loop(config(make_tiny_llama(tmp_path / "tiny"), f"train.report_to={kind}"), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_tensorboard_gets_one_point_per_round_and_the_trainer_a_log_dir(tmp_path, monkeypatch):
    written, trainer_dirs = [], []

    class FakeWriter:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, key, value, global_step):
            written.append((self.log_dir, key, value, global_step))

        def flush(self):
            pass

        def close(self):
            pass

    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "tensorboard" else real(name, *a))
    import selftaught.train.sft as train_pkg  # the trainer module's function, called at run time

    real_sft = train_pkg.train_sft

    def spy(model, tokenizer, records, cfg, device, seed, log_dir=None, **kw):
        trainer_dirs.append(log_dir)  # the fake package cannot back transformers' own callback: train untracked
        return real_sft(model, tokenizer, records, cfg.model_copy(update={"report_to": "none"}), device, seed, **kw)

    monkeypatch.setattr(train_pkg, "train_sft", spy)
    rows = run_loop(config(make_tiny_llama(tmp_path / "tiny"), "train.report_to=tensorboard"), str(tmp_path / "run"))
    assert {step for _, _, _, step in written} == {0, 1}
    assert all(d == str(tmp_path / "run" / "tb" / "loop") for d, *_ in written)
    acc = {step: v for _, k, v, step in written if k == "eval/accuracy"}
    assert acc == {0: rows[0]["eval/accuracy"], 1: rows[1]["eval/accuracy"]}
    assert trainer_dirs == [tmp_path / "run" / "tb" / "round_001"]
