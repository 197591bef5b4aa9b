"""Experiments over many runs: a grid of recipe variants x seeds (compare.py), run by local worker
processes or Ray tasks (executors.py, cell.py), read back from the cells' run directories
(collect.py) and summarised with intervals over seeds (analysis.py).

Nothing here imports the command line; `selftaught compare` (cli/compare_cmd.py) is a thin layer over it.
"""
