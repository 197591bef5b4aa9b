"""How the local executor shares a machine out: one worker per visible GPU, or CPU workers whose torch
threads together do not exceed the cores; and the Ray address check."""

import socket

import pytest

from selftaught.core.errors import ConfigError
from selftaught.experiments import executors
from selftaught.experiments.cell import THREADS_ENV


def test_one_worker_per_visible_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    slots = executors.plan_local(n_cells=6, workers=None, use_gpu=True)
    assert [s["CUDA_VISIBLE_DEVICES"] for s in slots] == ["2", "5"]
    assert [s["CUDA_VISIBLE_DEVICES"] for s in executors.plan_local(6, 3, True)] == ["2", "5", "2"]


@pytest.mark.parametrize("cores, cells, workers, expected", [
    (2, 4, None, (2, 1)),   # as many workers as cores, one thread each
    (2, 4, 1, (1, 2)),      # one worker gets both cores
    (16, 3, None, (3, 5)),  # fewer cells than cores: the cores are shared out as threads
    (2, 1, 4, (4, 1)),      # asked for more workers than cores: at least one thread each
])
def test_cpu_workers_share_the_cores(monkeypatch, cores, cells, workers, expected):
    monkeypatch.setattr(executors, "cpu_count", lambda: cores)
    slots = executors.plan_local(cells, workers, use_gpu=True)  # no GPU visible here
    assert (len(slots), int(slots[0][THREADS_ENV])) == expected
    assert slots[0]["OMP_NUM_THREADS"] == slots[0][THREADS_ENV]


@pytest.fixture(autouse=True)
def no_gpus(monkeypatch, request):
    if "gpu" not in request.node.name:
        monkeypatch.setattr(executors, "visible_gpus", lambda: [])


def test_address_check():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        executors.check_address(f"127.0.0.1:{server.getsockname()[1]}")  # something answers
        executors.check_address(f"ray://127.0.0.1:{server.getsockname()[1]}")
        port = server.getsockname()[1]
    with pytest.raises(ConfigError, match="does not answer"):
        executors.check_address(f"127.0.0.1:{port}", timeout=2)
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        executors.check_address("localhost")
