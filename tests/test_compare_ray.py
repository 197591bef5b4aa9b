"""`selftaught compare --executor ray` on a Ray instance this test starts on 127.0.0.1: one task per
cell, the same cell process as the local executor, a failed cell reported and the others finished."""

import os
import shutil
import sys
import tempfile

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'selftaught[ray]'")

from selftaught.experiments.compare import analyse_folder, run_grid  # noqa: E402
from selftaught.experiments.spec import CompareSpec  # noqa: E402


@pytest.fixture
def local_ray():
    temp = tempfile.mkdtemp(prefix="/tmp/rt")  # short: Ray's socket paths must fit in 107 characters
    path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))  # workers import this checkout
    ctx = ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
                   _temp_dir=temp, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ctx.address_info["gcs_address"]
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def test_ray_runs_a_grid_and_reports_a_failed_cell(local_ray, tiny_path, tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        f"model: {tiny_path}\ndevice: cpu\ntask: {{callable: 'loop_task:make_task', n_train: 4, n_eval: 4}}\n"
        "sampling: {n: 2, max_new_tokens: 5}\neval: {max_new_tokens: 5}\ntrain: {epochs: 1, batch_size: 4}\n"
        "loop: {rounds: 1}\n")
    spec = CompareSpec(recipe=str(recipe), variants={"rft": ["loop.kind=rft"], "rest_em": ["loop.kind=rest_em"]},
                       seeds=[0])
    out = tmp_path / "cmp"
    # rest_em's cell is made to fail: a file where its rounds/ folder should be
    blocked = out / "cells" / "rest_em" / "seed0" / "rounds"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a directory")
    results = run_grid(spec, out, executor="ray", address=local_ray, cpus_per_cell=1)
    by_label = {r.job.label: r for r in results}
    assert by_label["rft/seed0"].ok and not by_label["rest_em/seed0"].ok
    assert (out / "cells" / "rft" / "seed0" / "rounds" / "001" / "metrics.json").exists()
    assert "NotADirectoryError" in by_label["rest_em/seed0"].job.log.read_text()

    blocked.unlink()
    again = run_grid(spec, out, executor="ray", address=local_ray)
    assert [r.job.label for r in again] == ["rest_em/seed0"] and again[0].ok
    result = analyse_folder(out)
    assert [c["variant"] for c in result["comparisons"]] == ["rest_em", "rest_em"]
    assert not any("not finished" in w for w in result["warnings"])
