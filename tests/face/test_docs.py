"""Docs that cannot drift: the CLI reference is the commands' help; the docs stand alone."""

from __future__ import annotations

import re
from pathlib import Path

from fanout.cli._reference import render_reference

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current() -> None:
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == render_reference(), "docs/cli.md is stale: run `make docs`"


def test_the_reference_has_every_command_and_option() -> None:
    from fanout.cli import main

    text = render_reference()
    for name, command in main.commands.items():
        assert f"## fanout {name}\n" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in text, f"fanout {name} {opt}"


def test_readme_and_docs_point_nowhere_outside_the_repository() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text, page
        for target in re.findall(r"\]\(([^)#]+)", text):  # relative Markdown links resolve
            if not target.startswith(("http://", "https://")):
                assert (page.parent / target).exists(), f"{page.name}: {target}"


def _example(name: str, tmp_path: Path) -> list[str]:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGETHER_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_notebook_example_runs_a_batch_and_an_eval(tmp_path: Path) -> None:
    out = _example("example.py", tmp_path)
    assert re.fullmatch(r"run 1: 1000 of 1000 succeeded, \$\d+\.\d{4}, results in .+", out[0])
    assert re.fullmatch(
        r"Qwen/Qwen3-235B-A22B-Instruct-2507-tput: \d+\.\d% \[\d+\.\d%, \d+\.\d%\] on 60 items",
        out[1],
    )
    assert out[2].startswith("Qwen/Qwen3-235B-A22B-Thinking-2507: ")
    assert (tmp_path / "arithmetic.eval" / "report.html").is_file()
    (inputs,) = (tmp_path / "fanout.inputs").glob("*[0-9a-f].jsonl")  # the dicts, by content
    assert out[0].endswith(f"results in {inputs.with_suffix('.results.jsonl')}")


def test_the_async_example_runs_inside_a_running_loop(tmp_path: Path) -> None:
    out = _example("example_async.py", tmp_path)
    assert out[0] == "run 1: 1000 of 1000 succeeded"
    assert [line.split(":")[0] for line in out[1:]] == [
        "Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
        "Qwen/Qwen3-235B-A22B-Thinking-2507",
    ]
