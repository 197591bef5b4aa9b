"""Using a run's result: answer questions with a round's model, export it (HF folder, datasets, GGUF).

    source.py   which model a run directory's round is (`open_source`), with its config and task
    answer.py   `answer_questions`: any test-time strategy over questions, prompted as the run's task prompts
    export.py   `export_round`: the round's model folder with a model card, its data as a DatasetDict + JSONL
    card.py     the model and dataset cards (recipe, rounds' metrics table, data provenance)
    gguf_export.py  `export_gguf`: a Llama-family checkpoint as one GGUF file for llama.cpp / ollama

This layer reads run directories (as `report` does) and sits above the loop: nothing below imports it.
"""

from __future__ import annotations

from .source import ModelSource, open_source, pick_round

__all__ = ["ModelSource", "open_source", "pick_round"]
