"""Export a run's round: its model as a `save_pretrained` folder with a model card, and its data.

    OUT/model/            the round's model (round 0: the base model), README.md model card
    OUT/data/README.md    dataset card
    OUT/data/jsonl/round_NNN/{samples,eval,selected,pairs}.jsonl   per round up to the exported one
    OUT/data/dataset/     the same as a `datasets.DatasetDict` (`save_to_disk`), one split per file and round
    OUT/model.gguf        with `gguf=True` (use/gguf_export.py)

`push_to_hub(out, repo)` uploads OUT/model to the model repo `repo` and OUT/data to the dataset repo
`repo-data` with `huggingface_hub.upload_folder`; without a token it fails with one message, after the
local export is complete.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ..core.errors import SelftaughtError
from ..core.io import atomic_write_text, read_jsonl, write_jsonl
from .card import dataset_card, model_card, read_card_inputs
from .source import finished_rounds, pick_round, round_model, run_config

# split name -> (records file, verdicts file joined on sample_id or None)
DATA_FILES = {"samples": ("samples.jsonl", "scores.jsonl"), "eval": ("eval_samples.jsonl", "eval_scores.jsonl"),
              "selected": ("selected.jsonl", None), "pairs": ("pairs.jsonl", None)}
_SAMPLE_KEYS = ("id", "problem_id", "index", "text", "n_tokens", "finish_reason", "logprob", "parent")
_SCORE_KEYS = ("extracted", "verdict", "reward", "source")


def joined_samples(samples: list[dict[str, Any]], scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each sample with its verdict (scores.jsonl joined on the sample id); sampling params as one JSON string.

    >>> joined_samples([{"id": "p#0", "problem_id": "p", "text": "Answer: 2", "params": {"seed": 1}}],
    ...                [{"sample_id": "p#0", "extracted": "2", "verdict": "correct", "reward": 1.0}])[0]["verdict"]
    'correct'
    """
    by_id = {s["sample_id"]: s for s in scores}
    out = []
    for s in samples:
        sid = s.get("id") or f"{s['problem_id']}#{s.get('index', 0)}"
        score = by_id.get(sid, {})
        row = {"sample_id": sid, **{k: s.get(k) for k in _SAMPLE_KEYS if k != "id"},
               **{k: score.get(k) for k in _SCORE_KEYS}, "params": json.dumps(s.get("params") or {})}
        out.append(row)
    return out


def round_data(run_dir: str | Path, index: int) -> dict[str, list[dict[str, Any]]]:
    """The data files of one round that exist, by split name (see DATA_FILES)."""
    folder = Path(run_dir) / "rounds" / f"{index:03d}"
    data = {}
    for name, (records, verdicts) in DATA_FILES.items():
        if not (folder / records).exists():
            continue
        rows = read_jsonl(folder / records)
        if verdicts is not None:
            rows = joined_samples(rows, read_jsonl(folder / verdicts) if (folder / verdicts).exists() else [])
        data[name] = rows
    return data


def export_data(run_dir: str | Path, index: int, out: Path) -> tuple[list[str], dict[int, dict[str, int]]]:
    """JSONL files and a DatasetDict of rounds 0..index under `out`; returns (split names, counts)."""
    from datasets import Dataset, DatasetDict

    splits, counts = {}, {}
    for r in (i for i in finished_rounds(run_dir) if i <= index):
        data = round_data(run_dir, r)
        counts[r] = {f"{name}.jsonl": len(rows) for name, rows in data.items()}
        for name, rows in data.items():
            write_jsonl(out / "jsonl" / f"round_{r:03d}" / f"{name}.jsonl", rows)
            if rows:
                splits[f"round_{r:03d}_{name}"] = Dataset.from_list([_flat(x) for x in rows])
    if splits:
        DatasetDict(splits).save_to_disk(str(out / "dataset"))
    return list(splits), counts


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A record whose free-form dicts (rule options, stats) are JSON strings, so every row has one schema."""
    return {k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}


DTYPES = ("bfloat16", "float16", "float32")


def export_round(run_dir: str | Path, round_spec: str | int, out: str | Path, gguf: bool = False,
                 outtype: str = "f16", command: str | None = None, dtype: str | None = None) -> dict[str, Path]:
    """Write OUT/model (+ model card), OUT/data (+ dataset card) and, with `gguf`, OUT/model.gguf for
    round `round_spec` of `run_dir`. `dtype` (one of DTYPES) casts the model's weights on the way out (the
    checkpoints stay as trained, usually float32; bfloat16 halves the folder). Returns the paths written by name."""
    if dtype is not None and dtype not in DTYPES:  # before anything is written
        raise SelftaughtError(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}.")
    cfg = run_config(run_dir)
    index = pick_round(run_dir, round_spec)
    source = Path(round_model(run_dir, cfg, index))
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SelftaughtError(f"--out {out} is a file; choose a folder to export into.")
    model_dir, data_dir = out / "model", out / "data"
    for old in (model_dir, data_dir):
        if old.exists():
            shutil.rmtree(old)
    shutil.copytree(source, model_dir, ignore=shutil.ignore_patterns("*.tmp", "README.md"),
                    copy_function=shutil.copyfile)  # new files take the umask: an export is made to be shared
    if dtype is not None:
        cast_weights(model_dir, dtype)
    splits, counts = export_data(run_dir, index, data_dir)
    cfg_dict, rows = read_card_inputs(run_dir)
    commands = [f"selftaught run {Path(run_dir) / 'config.yaml'} --run-dir {run_dir}",
                command or f"selftaught export {run_dir} --round {index} --out {out}"]
    atomic_write_text(model_dir / "README.md", model_card(cfg_dict, rows, index, counts, str(run_dir), commands))
    atomic_write_text(data_dir / "README.md", dataset_card(cfg_dict, index, counts, splits))
    paths = {"model": model_dir, "data": data_dir}
    if gguf:
        from .gguf_export import export_gguf

        paths["gguf"] = export_gguf(model_dir, out / "model.gguf", outtype=outtype)
    return paths


def cast_weights(model_dir: Path, dtype: str) -> None:
    """Re-save the model in `model_dir` with its floating-point weights in `dtype` (config.json's dtype too)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype))
    for old in model_dir.glob("*.safetensors*"):  # the copied shards; save_pretrained writes its own
        old.unlink()
    (model_dir / "pytorch_model.bin").unlink(missing_ok=True)
    model.save_pretrained(model_dir)


def hub_token() -> str | None:
    """The Hugging Face token: HF_TOKEN, else the cached `huggingface-cli login`."""
    from huggingface_hub import get_token

    return get_token()


def push_to_hub(out: str | Path, repo: str, private: bool = False) -> list[str]:
    """Upload OUT/model to the model repo `repo` and OUT/data to the dataset repo `repo-data`; the URLs."""
    token = hub_token()
    if not token:
        raise SelftaughtError(f"--push-to-hub {repo}: no Hugging Face token (set HF_TOKEN or run `huggingface-cli "
                              f"login`). The export itself is complete in {out}; push it later with "
                              f"`huggingface-cli upload {repo} {Path(out) / 'model'}`.")
    from huggingface_hub import HfApi

    api, urls = HfApi(token=token), []
    try:
        for folder, repo_id, kind in ((Path(out) / "model", repo, "model"), (Path(out) / "data", f"{repo}-data", "dataset")):
            api.create_repo(repo_id, repo_type=kind, private=private, exist_ok=True)
            api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type=kind,
                              commit_message="selftaught export")
            urls.append(f"https://huggingface.co/{'datasets/' if kind == 'dataset' else ''}{repo_id}")
    except Exception as e:  # network and Hub errors come from several libraries (httpx, requests, OSError)
        raise SelftaughtError(f"--push-to-hub {repo}: the upload failed ({type(e).__name__}: {e}). The export "
                              f"itself is complete in {out}; push it again when the Hub is reachable.") from None
    return urls
