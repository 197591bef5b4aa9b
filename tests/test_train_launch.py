"""Several processes: the shipped accelerate configs load, and one loop round trains under
`accelerate launch` with two CPU processes (gloo) while sampling and eval stay in this process."""

import json
import socket
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from conftest import make_tiny_llama
from selftaught.cli.main import app
from selftaught.core.config import load_config
from selftaught.core.errors import SelftaughtError
from selftaught.loop.rounds import run_loop
from selftaught.train.launch import build_command, parse_args

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "accelerate"


def test_shipped_accelerate_configs_are_valid():
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DistributedType

    kinds = {p.stem: load_config_from_file(str(p)).distributed_type for p in CONFIGS.glob("*.yaml")}
    assert kinds == {"ddp": DistributedType.MULTI_GPU, "deepspeed_zero2": DistributedType.DEEPSPEED,
                     "deepspeed_zero3": DistributedType.DEEPSPEED, "fsdp": DistributedType.FSDP,
                     "multi_cpu": DistributedType.MULTI_GPU}  # torchrun spawns; gloo on the CPU at run time


def test_command_round_trips_through_the_launch_parser():
    cmd = build_command("acc.yaml", "run/config.yaml", "run/rounds/001/pairs.jsonl", "base",
                        "run/rounds/001/checkpoint", 7, "m.json", ref_model="base", log_dir="tb")
    assert cmd[1:4] == ["-m", "accelerate.commands.launch", "--config_file"] and "selftaught.train.launch" in cmd
    args = parse_args(cmd[cmd.index("selftaught.train.launch") + 1:])
    assert (args.records, args.out, args.seed, args.ref_model, args.log_dir) == (
        "run/rounds/001/pairs.jsonl", "run/rounds/001/checkpoint", 7, "base", "tb")


def two_cpu_config(tmp_path) -> Path:
    """multi_cpu.yaml on a free port (test runs may overlap on one machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "two_cpu.yaml"
    path.write_text((CONFIGS / "multi_cpu.yaml").read_text().replace("29511", str(port)))
    return path


def test_one_round_trains_under_accelerate_with_two_cpu_processes(tmp_path):
    tiny = make_tiny_llama(tmp_path / "tiny")
    cfg = load_config(None, [
        "task.callable=loop_task:make_task", f"model={tiny}", "device=cpu", "threads=1", "task.n_train=6",
        "task.n_eval=4", "sampling.n=3", "sampling.max_new_tokens=6", "eval.max_new_tokens=6",
        "sampling.temperature=1.0", "train.epochs=1", "train.batch_size=2", "train.learning_rate=1e-3",
        "loop.rounds=1"])
    rows = run_loop(cfg, str(tmp_path / "run"), launcher="accelerate", accelerate_config=str(two_cpu_config(tmp_path)))
    launched = json.loads((tmp_path / "run" / "rounds" / "001" / "train_launch.json").read_text())
    assert launched["train/processes"] == 2
    kept = rows[1]["select/kept"]
    assert kept > 0 and launched["train/steps"] == -(-kept // 4)  # 2 processes x batch 2 per step
    assert (tmp_path / "run" / "rounds" / "001" / "checkpoint" / "config.json").exists()
    assert not (tmp_path / "run" / "rounds" / "001" / "checkpoint.trainer").exists()
    assert rows[1]["train/processes"] == 2 and "eval/accuracy" in rows[1]  # evaluated the reloaded checkpoint


def test_accelerate_launcher_needs_a_config_file(tmp_path):
    tiny = make_tiny_llama(tmp_path / "tiny")
    cfg = load_config(None, ["task.callable=loop_task:make_task", f"model={tiny}", "device=cpu"])
    with pytest.raises(SelftaughtError, match="accelerate-config"):
        run_loop(cfg, str(tmp_path / "run"), launcher="accelerate", accelerate_config=None)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model: {tiny}\ndevice: cpu\ntask: {{callable: 'loop_task:make_task'}}\n")
    result = CliRunner().invoke(app, ["run", str(recipe), "--launcher", "slurm", "--run-dir", str(tmp_path / "r2")])
    assert result.exit_code == 2 and "unknown launcher" in result.output
    assert not (tmp_path / "run").exists() and not (tmp_path / "r2").exists()


def test_merge_adapter_matches_merging_in_memory(tiny_model_and_tokenizer, tmp_path):
    """The multi-process save path: the adapter saved by the trainer, merged onto the start model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from selftaught.train import merge_adapter

    model, tok = tiny_model_and_tokenizer
    model.save_pretrained(tmp_path / "start")
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    peft.save_pretrained(tmp_path / "adapter")
    merge_adapter(str(tmp_path / "start"), tmp_path / "adapter", tok, tmp_path / "merged")
    expected = peft.merge_and_unload().state_dict()
    got = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").state_dict()
    assert set(got) == set(expected) and all(torch.allclose(got[k], expected[k], atol=1e-6) for k in expected)


def test_finish_removes_the_mixed_precision_forward_wrapper(tiny_model_and_tokenizer):
    """accelerate wraps forward in bf16 autocast for mixed-precision training; the trained model must not keep it."""
    from types import SimpleNamespace

    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    from selftaught.core.config import TrainConfig
    from selftaught.train.common import finish

    model, tok = tiny_model_and_tokenizer
    ids = torch.tensor([[5, 6, 7, 8]])
    want = model(ids).logits
    AcceleratorState._reset_state(reset_partial_state=True)  # earlier trainers left theirs (no mixed precision)
    try:
        acc = Accelerator(cpu=True, mixed_precision="bf16")
        wrapped = acc.prepare_model(model)
        assert "_original_forward" in vars(wrapped)  # the wrapper this test is about is really there
        assert not torch.equal(wrapped(ids).logits, want)  # and it changes the numbers (bf16)
        out = finish(SimpleNamespace(accelerator=acc, model=wrapped), tok, TrainConfig(), None)
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    assert "_original_forward" not in vars(out)
    assert torch.equal(out(ids).logits, want)
