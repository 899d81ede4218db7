"""The architecture, checked: no package imports another package's private modules.

The layer order (fanout -> evals -> runner -> jobs, the simulator apart) is import-linter's
job (pyproject.toml, ``make lint``); what it cannot say is checked here over the source:
``from runner._run import x`` in evals, or ``import togethersim._answers`` in fanout.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fanout", "evals", "runner", "jobs", "togethersim")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every absolute import in the file, names included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def private_cross_imports(root: Path) -> list[str]:
    problems = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for line, name in _imports(path):
                parts = name.split(".")
                if parts[0] in PACKAGES and parts[0] != package:
                    if any(p.startswith("_") and not p.startswith("__") for p in parts[1:]):
                        problems.append(f"{path.relative_to(root)}:{line}: imports {name}")
    return problems


def test_no_package_imports_another_packages_private_modules() -> None:
    assert private_cross_imports(ROOT) == []


def test_the_check_finds_a_private_import(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "evals" / "x.py").write_text("from runner._run import prepare_run\n")
    (tmp_path / "fanout" / "y.py").write_text("import togethersim._answers\n")
    (tmp_path / "fanout" / "z.py").write_text("from fanout._batch import Run\n")  # its own: fine
    assert private_cross_imports(tmp_path) == [
        "fanout/y.py:1: imports togethersim._answers",
        "evals/x.py:1: imports runner._run.prepare_run",
    ]


def test_only_the_face_uses_click() -> None:
    """The CLI lives in fanout.cli; evals, runner and jobs are libraries (no click)."""
    for package in ("evals", "runner", "jobs", "togethersim"):
        for path in sorted((ROOT / package).rglob("*.py")):
            names = [name for _line, name in _imports(path)]
            assert not [n for n in names if n.split(".")[0] == "click"], path


@pytest.mark.parametrize(
    ("package", "absent"),
    [
        ("togethersim", ("sqlmodel", "httpx", "click", "runner", "evals", "jobs", "fanout")),
        # click may still come in: httpx imports it for its own command line
        ("runner", ("togethersim", "evals", "fanout")),
        ("evals", ("togethersim", "fanout")),
    ],
)
def test_importing_a_layer_loads_nothing_above_it(package: str, absent: tuple[str, ...]) -> None:
    code = (
        f"import sys, {package}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert not set(absent) & set(out)
