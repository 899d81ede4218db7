"""The public face of each package is a short, sorted, deliberate list."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["fanout", "runner", "jobs", "evals", "togethersim"])
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported, key=lambda s: (not s.isupper(), s))
    for member in exported:
        assert hasattr(module, member), f"{name}.{member}"
        assert not member.startswith("_")


def test_cli_help_names_every_bundled_evalset() -> None:
    from fanout._evaluate import bundled_evalsets
    from fanout.cli import main

    help_text = " ".join((main.commands["eval"].help or "").split())
    assert bundled_evalsets()
    for name in bundled_evalsets():
        assert name in help_text, name
