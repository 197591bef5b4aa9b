"""Several processes: the shipped accelerate configs load, and one loop round trains under
`accelerate launch` with two CPU processes (gloo), under DDP, FSDP2 and (with deepspeed installed)
ZeRO-2/3, while sampling and eval stay in this process."""

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


def free_port() -> int:
    """A free port for the launched processes to meet on (test runs may overlap on one machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_cpu_config(tmp_path) -> Path:
    """multi_cpu.yaml on a free port."""
    path = tmp_path / "two_cpu.yaml"
    path.write_text((CONFIGS / "multi_cpu.yaml").read_text().replace("29511", str(free_port())))
    return path


def one_round_config(tiny: str, *overrides: str):
    return load_config(None, [
        "task.callable=loop_task:make_task", f"model={tiny}", "device=cpu", "threads=1", "task.n_train=6",
        "task.n_eval=4", "sampling.n=3", "sampling.max_new_tokens=6", "eval.max_new_tokens=6",
        "sampling.temperature=1.0", "train.epochs=1", "train.batch_size=2", "train.learning_rate=1e-3",
        "loop.rounds=1", *overrides])


def test_one_round_trains_under_accelerate_with_two_cpu_processes(tmp_path):
    tiny = make_tiny_llama(tmp_path / "tiny")
    cfg = one_round_config(tiny)
    rows = run_loop(cfg, str(tmp_path / "run"), launcher="accelerate", accelerate_config=str(two_cpu_config(tmp_path)))
    launched = json.loads((tmp_path / "run" / "rounds" / "001" / "train_launch.json").read_text())
    assert launched["train/processes"] == 2 and launched["train/distributed_type"] == "MULTI_CPU"
    kept = rows[1]["select/kept"]
    assert kept > 0 and launched["train/steps"] == -(-kept // 4)  # 2 processes x batch 2 per step
    assert (tmp_path / "run" / "rounds" / "001" / "checkpoint" / "config.json").exists()
    assert not (tmp_path / "run" / "rounds" / "001" / "checkpoint.trainer").exists()
    assert rows[1]["train/processes"] == 2 and "eval/accuracy" in rows[1]  # evaluated the reloaded checkpoint


def load_trained(start_path: str, checkpoint: Path):
    """(start, trained, names of the weights that changed): the saved round loads as a plain model
    folder with the start model's weights (names, shapes), all finite."""
    from transformers import AutoModelForCausalLM

    start = AutoModelForCausalLM.from_pretrained(start_path).state_dict()
    got = AutoModelForCausalLM.from_pretrained(checkpoint).state_dict()
    assert {k: v.shape for k, v in got.items()} == {k: v.shape for k, v in start.items()}
    assert all(torch.isfinite(v).all() for v in got.values())
    return start, got, {k for k in start if not torch.equal(got[k], start[k])}


# accelerate runs an FSDP config on the CPU as plain DDP (its CPU type, MULTI_CPU, never becomes FSDP):
# on the launched processes' path this turns its FSDP path back on, so the test shards for real.
FORCE_FSDP_ON_CPU = """
import os

if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedType

    _init = AcceleratorState.__init__

    def __init__(self, *args, fsdp_plugin=None, **kwargs):
        _init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
        if fsdp_plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
            self.distributed_type = PartialState._shared_state["distributed_type"] = DistributedType.FSDP
            self.fsdp_plugin = fsdp_plugin

    AcceleratorState.__init__ = __init__
"""

# FSDP2 on two CPU processes. The state dict type is sharded (FSDP2's default) on purpose: the round's
# save must gather the full weights anyway. (FSDP1 cannot run on the CPU: torch segfaults gathering
# its full state dict with offload_to_cpu, which accelerate always asks for.)
FSDP2_TWO_CPU = """\
compute_environment: LOCAL_MACHINE
distributed_type: FSDP
fsdp_config:
  fsdp_version: 2
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_reshard_after_forward: true
  fsdp_state_dict_type: SHARDED_STATE_DICT
  fsdp_cpu_ram_efficient_loading: true
  fsdp_offload_params: false
machine_rank: 0
main_process_port: {port}
mixed_precision: 'no'
num_machines: 1
num_processes: 2
rdzv_backend: static
same_network: true
use_cpu: false
"""


def test_one_round_trains_under_accelerate_fsdp2_with_two_cpu_processes(tmp_path, monkeypatch):
    """Parameters sharded across two CPU processes (DTensors), gathered into a plain model folder that
    loads, has every weight trained, and matches one process training the same global batch."""
    from selftaught.core.io import read_jsonl
    from selftaught.core.seeds import seed_for
    from selftaught.models import load_model
    from selftaught.train import train_round

    (tmp_path / "force").mkdir()
    (tmp_path / "force" / "sitecustomize.py").write_text(FORCE_FSDP_ON_CPU)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "force"))
    acc_config = tmp_path / "fsdp2.yaml"
    acc_config.write_text(FSDP2_TWO_CPU.format(port=free_port()))
    tiny = make_tiny_llama(tmp_path / "tiny")
    cfg = one_round_config(tiny)
    rows = run_loop(cfg, str(tmp_path / "run"), launcher="accelerate", accelerate_config=str(acc_config))
    round_dir = tmp_path / "run" / "rounds" / "001"
    launched = json.loads((round_dir / "train_launch.json").read_text())
    assert launched["train/distributed_type"] == "FSDP" and launched["train/processes"] == 2
    assert not (round_dir / "checkpoint.trainer").exists()
    assert rows[1]["train/distributed_type"] == "FSDP" and "eval/accuracy" in rows[1]  # the reloaded checkpoint
    start, got, changed = load_trained(tiny, round_dir / "checkpoint")
    assert changed == set(start)  # every gathered weight trained

    # One process, batch 4 = the same global batch and seed: the same first step, nearly the same
    # update (the last, short batch differs: two processes pad it).
    model, tok = load_model(tiny, "cpu", "float32")
    one, single = train_round(one_round_config(tiny, "train.batch_size=4"), model, tok,
                              read_jsonl(round_dir / "selected.jsonl"), "cpu", seed_for(cfg.seed, "train", 1),
                              tmp_path / "single")
    assert launched["train/loss_first"] == pytest.approx(single.losses[0], rel=1e-5)
    want = one.state_dict()
    update = torch.cat([(got[k] - start[k]).flatten() for k in start])
    update_one = torch.cat([(want[k] - start[k]).flatten() for k in start])
    assert torch.nn.functional.cosine_similarity(update, update_one, dim=0) > 0.9


# ZeRO-3 from a DeepSpeed config file: the persistence threshold 0 partitions even the tiny model's
# weights (by default ZeRO-3 keeps parameters under 1e5 elements whole on every process).
ZERO3_JSON = {"train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto",
              "gradient_accumulation_steps": "auto", "gradient_clipping": "auto",
              "zero_optimization": {"stage": 3, "stage3_param_persistence_threshold": 0,
                                    "stage3_gather_16bit_weights_on_model_save": True}}
ZERO3_TWO_CPU = """\
compute_environment: LOCAL_MACHINE
distributed_type: DEEPSPEED
deepspeed_config:
  deepspeed_config_file: {json}
  zero3_init_flag: true
machine_rank: 0
main_process_port: {port}
num_machines: 1
num_processes: 2
rdzv_backend: static
same_network: true
use_cpu: false
"""


def deepspeed_two_cpu_config(tmp_path, stage: int) -> Path:
    """ZeRO-2: the shipped config with its GPU settings (bf16, 8 processes) swapped for two CPU
    processes; ZeRO-3: ZERO3_JSON through accelerate's `deepspeed_config_file`."""
    path = tmp_path / f"zero{stage}.yaml"
    if stage == 2:
        text = (CONFIGS / "deepspeed_zero2.yaml").read_text().replace("mixed_precision: bf16", "mixed_precision: 'no'")
        path.write_text(text.replace("num_processes: 8", f"num_processes: 2\nmain_process_port: {free_port()}"))
    else:
        (tmp_path / "zero3.json").write_text(json.dumps(ZERO3_JSON))
        path.write_text(ZERO3_TWO_CPU.format(json=tmp_path / "zero3.json", port=free_port()))
    return path


@pytest.mark.parametrize("stage, lora", [(2, False), (3, True)], ids=["zero2", "zero3-lora"])
def test_one_round_trains_under_accelerate_deepspeed_with_two_cpu_processes(tmp_path, stage, lora):
    """DeepSpeed on the CPU (its CPU accelerator, gloo): ZeRO-2 shards optimizer states and gradients,
    ZeRO-3 the weights too, gathered when the round is saved; with LoRA the main process merges the
    saved adapter (loading the base model outside ZeRO-3, or it would wait for the others forever)."""
    pytest.importorskip("deepspeed")
    tiny = make_tiny_llama(tmp_path / "tiny")
    rows = run_loop(one_round_config(tiny, f"train.lora.enabled={str(lora).lower()}"), str(tmp_path / "run"),
                    launcher="accelerate", accelerate_config=str(deepspeed_two_cpu_config(tmp_path, stage)))
    round_dir = tmp_path / "run" / "rounds" / "001"
    launched = json.loads((round_dir / "train_launch.json").read_text())
    assert launched["train/distributed_type"] == "DEEPSPEED" and launched["train/processes"] == 2
    assert not (round_dir / "checkpoint.trainer").exists() and "eval/accuracy" in rows[1]
    start, _, changed = load_trained(tiny, round_dir / "checkpoint")
    assert changed == ({k for k in start if k.endswith("proj.weight")} if lora else set(start))  # LoRA: all-linear


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
