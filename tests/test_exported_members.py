"""The public face of each package is a short, sorted, deliberate list."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["runner", "jobs", "evals", "runner.sim"])
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported, key=lambda s: (not s.isupper(), s))
    for member in exported:
        assert hasattr(module, member), f"{name}.{member}"
        assert not member.startswith("_")
