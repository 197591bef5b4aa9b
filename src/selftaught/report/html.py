"""report.html: one self-contained file (PNGs inlined as data: URIs, CSS inline) made from a run dir.

It can be mailed or attached: nothing is fetched from anywhere when it is opened.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from pathlib import Path
from typing import Any

from ..core.io import atomic_write_text
from .load import RunData, load_run, task_label
from .plots import render
from .summary import pct, rows, warnings

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       background: #f6f8fa; margin: 0; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; min-height: 100vh; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 6px;
     border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.meta { color: #57606a; margin: 2px 0; } .headline { font-size: 16px; margin: 10px 0; }
nav { margin: 12px 0; font-size: 13px; } nav a { color: #0969da; margin-right: 12px; text-decoration: none; }
.caption { color: #57606a; margin: 0 0 8px; font-size: 13px; }
img { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 3px 5px; text-align: right; white-space: nowrap; }
th { background: #f6f8fa; white-space: normal; vertical-align: bottom; } td:first-child, th:first-child { text-align: left; }
.scroll { overflow-x: auto; }
details { margin: 8px 0; } summary { cursor: pointer; color: #0969da; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 10px;
      white-space: pre-wrap; word-break: break-word; font-size: 12.5px; margin: 4px 0 12px; }
.sample-head { font-size: 13px; margin-top: 10px; }
.verdict { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; color: #fff; }
.correct { background: #1a7f37; } .incorrect { background: #cf222e; } .unparsed, .unknown { background: #6e7781; }
.truncated, .conflicting { background: #9a6700; }
ul.skipped { color: #57606a; font-size: 13px; padding-left: 20px; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 6px 10px; margin: 10px 0; }
footer { color: #8c959f; font-size: 12px; margin-top: 36px; }
"""


def write_report(run_dir: str | Path) -> Path:
    """Write `run_dir`/report.html (atomically) from the files in `run_dir`; returns its path."""
    run = load_run(run_dir)
    path = run.root / "report.html"
    atomic_write_text(path, build_html(run))
    return path


def build_html(run: RunData) -> str:
    figures = render(run)
    drawn = [(p, data) for p, data in figures if isinstance(data, bytes)]
    skipped = [(p, note) for p, note in figures if isinstance(note, str)]
    links = [("rounds", "Rounds")] + [(f"plot-{p.id}", p.title) for p, _ in drawn]
    links += [("samples", "Samples"), ("metrics", "All metrics")]
    parts = [
        _header(run),
        _warnings(run),
        "<nav>" + "".join(f'<a href="#{i}">{escape(t)}</a>' for i, t in links) + "</nav>",
        '<section id="rounds"><h2>Rounds</h2>' + _table(*rows(run)) + "</section>",
        *(_figure(p.id, p.title, p.caption, data) for p, data in drawn),
    ]
    if skipped:
        parts.append("<h2>Not drawn</h2><ul class=\"skipped\">" + "".join(
            f"<li><b>{escape(p.title)}</b>: {_code(note)}</li>" for p, note in skipped) + "</ul>")
    parts += [_samples(run), _all_metrics(run),
              f"<footer>Made by <code>selftaught report</code> from {escape(str(run.root))}.</footer>"]
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(run.name)}: selftaught report</title><style>{CSS}</style></head>\n"
            f"<body><main>\n" + "\n".join(parts) + "\n</main></body></html>\n")


def _code(text: str) -> str:
    """Escape `text` and show its `backticked` metric names as code."""
    return re.sub(r"`([^`<]+)`", r"<code>\1</code>", escape(text))


def _header(run: RunData) -> str:
    cfg = run.config
    first, last = run.rounds[0], run.rounds[-1]
    meta = [f"model <b>{escape(str(cfg.get('model', '?')))}</b>", f"task <b>{escape(task_label(cfg))}</b>"]
    loop = cfg.get("loop") or {}
    if loop.get("kind"):
        meta.append(f"loop <b>{escape(str(loop['kind']))}</b>")
    meta.append(f"{len(run.rounds)} rounds finished ({first['round']}..{last['round']})")
    out = [f"<header><h1>{escape(run.name)}</h1>", f'<p class="meta">{" · ".join(meta)}</p>']
    if first.get("eval/accuracy") is not None and last.get("eval/accuracy") is not None:
        out.append(f'<p class="headline">Held-out accuracy: <b>{pct(first["eval/accuracy"])}%</b> '
                   f'(round {first["round"]}) &rarr; <b>{pct(last["eval/accuracy"])}%</b> '
                   f'(round {last["round"]}), greedy, {_eval_n(last)}.</p>')
    if run.config_text:
        out.append(f"<details><summary>config.yaml</summary><pre>{escape(run.config_text)}</pre></details>")
    return "\n".join(out) + "</header>"


def _warnings(run: RunData) -> str:
    """The answer-collapse warnings, above everything else: a gain they flag is not a real one."""
    lines = warnings(run)
    if not lines:
        return ""
    return ('<div class="warning" id="collapse"><b>Answer collapse</b>: the accuracy of these rounds is '
            "explained by giving one answer to most problems (see the constant-answer baselines).<ul>"
            + "".join(f"<li>{escape(w)}</li>" for w in lines) + "</ul></div>")


def _eval_n(m: dict[str, Any]) -> str:
    n = m.get("eval/n")
    return f"{n} problems" if n else "held-out split"


def _figure(pid: str, title: str, caption: str, data: bytes) -> str:
    src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return (f'<section id="plot-{pid}"><h2>{escape(title)}</h2><p class="caption">{escape(caption)}</p>'
            f'<img alt="{escape(title)}" src="{src}"></section>')


def _table(headers: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    trs = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table></div>'


def _samples(run: RunData) -> str:
    last = run.rounds[-1]["round"]
    if not run.samples:
        return (f'<section id="samples"><h2>Samples</h2><p class="caption">No eval_samples.jsonl in round '
                f"{last}.</p></section>")
    out = [f'<section id="samples"><h2>Samples</h2><p class="caption">The first {len(run.samples)} '
           f"held-out completions of round {last}, with the verifier's verdict.</p>"]
    for s in run.samples:
        verdict = s.get("verdict") or "unknown"
        extracted = s.get("extracted")
        out.append(f'<div class="sample-head"><span class="verdict {escape(verdict)}">{escape(verdict)}</span> '
                   f"problem <code>{escape(str(s.get('problem_id', '?')))}</code>"
                   + (f" · extracted answer <code>{escape(str(extracted))}</code>" if extracted is not None else "")
                   + (f" · {s['n_tokens']} tokens" if s.get("n_tokens") is not None else "")
                   + f"</div><pre>{escape(str(s.get('text', '')))}</pre>")
    return "\n".join(out) + "</section>"


def _all_metrics(run: RunData) -> str:
    """Every scalar metric of every round (nested dicts flattened, lists summarised)."""
    flat = [_flatten(m) for m in run.rounds]
    keys = [k for k in dict.fromkeys(k for f in flat for k in f) if k != "round"]
    headers = ["metric"] + [f"round {m['round']}" for m in run.rounds]
    body = [[k] + [_cell(f.get(k)) for f in flat] for k in keys]
    return (f'<section id="metrics"><h2>All metrics</h2><details><summary>{len(keys)} keys, as recorded in '
            f"rounds/NNN/metrics.json</summary>{_table(headers, body)}</details></section>")


def _flatten(m: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in m.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool) or isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return f"[{len(v)} values]"
    return json.dumps(v) if not isinstance(v, str) else v
