"""The run report: plots and tables made from a run directory's files only.

- `write_report(run_dir) -> Path`: writes run_dir/report.html, one self-contained HTML file
- `load_run(run_dir) -> RunData`: config, one metrics dict a round, a few held-out samples
- `summary_table(run) -> rich.Table`: the per-round table printed by `selftaught report`
- `plots.PLOTS`: the figures, each drawn when its metric keys are present and noted when not
"""

from .html import build_html, write_report
from .load import RunData, load_run
from .summary import summary_table

__all__ = ["RunData", "build_html", "load_run", "summary_table", "write_report"]
