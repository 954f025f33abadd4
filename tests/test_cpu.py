"""Live models use every core on an idle machine and one thread on a busy one."""

from __future__ import annotations

import os

import pytest

from heartline.cpu import auto_threads


@pytest.mark.parametrize(("load", "expected"), [(0.3, 4), (3.9, 4), (4.0, 1), (12.0, 1)])
def test_threads_follow_the_load(monkeypatch: pytest.MonkeyPatch, load: float, expected: int) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert auto_threads() == expected


def test_single_core_and_unknown_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert auto_threads() == 1

    def unavailable() -> tuple[float, float, float]:
        raise OSError("no load average here")

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", unavailable)
    assert auto_threads() == 2
