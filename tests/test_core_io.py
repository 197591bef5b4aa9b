"""Atomic writes: whole files only, and the permissions a plain open() would give (the umask)."""

import os
import stat

import pytest

from selftaught.core.io import atomic_write_text, read_jsonl, write_jsonl


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_respects_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == mode


def test_atomic_write_leaves_no_temporary_and_round_trips(tmp_path):
    write_jsonl(tmp_path / "r.jsonl", [{"a": 1}, {"b": "é"}])
    assert read_jsonl(tmp_path / "r.jsonl") == [{"a": 1}, {"b": "é"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]
