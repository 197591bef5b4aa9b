"""`selftaught export RUN_DIR --round N|latest --out DIR [--dtype bfloat16] [--gguf] [--push-to-hub REPO]`.

Writes DIR/model (the round's model, `save_pretrained` layout, README.md model card with the recipe,
the rounds' metrics and the data's provenance), DIR/data (selected records, pairs, samples with their
verdicts per round, as JSONL and a `datasets.DatasetDict`, with a dataset card) and, with `--gguf`,
DIR/model.gguf for llama.cpp and ollama. `--push-to-hub` uploads after the local export is written.
Registered in cli/main.py.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from .common import console, quiet_libraries, user_errors


@user_errors
def export_command(
    run_dir: Path = typer.Argument(..., help="The run directory (`selftaught run` wrote it)."),
    round_spec: str = typer.Option("latest", "--round", help="Which round: a number (0: the base model) or latest."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: RUN_DIR-export)."),
    gguf: bool = typer.Option(False, "--gguf", help="Also write DIR/model.gguf for llama.cpp / ollama (Llama family)."),
    outtype: str = typer.Option("f16", "--outtype", help="GGUF weight type: f32, f16 or bf16 (norms stay f32)."),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="Cast DIR/model's weights: bfloat16, float16 or "
                                        "float32 (default: as the checkpoint was saved, float32 after CPU training)."),
    push_to_hub: Optional[str] = typer.Option(None, "--push-to-hub", help="Upload DIR/model to this Hub model repo "
                                              "and DIR/data to REPO-data (needs HF_TOKEN or `huggingface-cli login`)."),
    private: bool = typer.Option(False, "--private", help="With --push-to-hub: create private repos."),
) -> None:
    """Export a round's model (HF folder + model card, optionally GGUF) and its data (HF dataset + JSONL)."""
    from ..core.errors import SelftaughtError
    from ..use.export import export_round, push_to_hub as push
    from ..use.gguf_export import OUTTYPES
    from ..use.source import is_run_dir

    if not is_run_dir(run_dir):
        raise SelftaughtError(f"{run_dir} is not a run directory (no config.yaml or rounds/ in it); export takes "
                              "the folder `selftaught run` wrote.")
    if outtype not in OUTTYPES:
        raise SelftaughtError(f"--outtype must be one of {', '.join(OUTTYPES)}, got {outtype!r}.")
    target = out or run_dir.with_name(run_dir.name + "-export")
    quiet_libraries()
    import datasets

    datasets.disable_progress_bars()
    command = "selftaught " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["export"] else None
    with console.status(f"exporting {run_dir} round {round_spec} to {target}..."):
        paths = export_round(run_dir, round_spec, target, gguf=gguf, outtype=outtype, command=command,
                             dtype=dtype)
    for name, path in paths.items():
        console.print(f"{name}: {path}", highlight=False)
    if push_to_hub:
        with console.status(f"uploading to the Hugging Face Hub ({push_to_hub})..."):
            urls = push(target, push_to_hub, private=private)
        console.print("uploaded: " + ", ".join(urls), highlight=False)
