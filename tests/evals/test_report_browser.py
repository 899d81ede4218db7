"""The report as a person sees it: rendered by headless Chromium, not read as a string.

`fanout report` builds a report from result files this test writes (three models with long
names, groups, difficulties, two samples and log probabilities, so every table and both
figures are there; no network). Chromium then loads it:

- as written, at 1280 px, with its console logged: nothing is logged (the page has no
  script, so any console line is an error), and the DOM it built holds every model's name,
  accuracy and interval, the comparison's difference and the simulated-models warning;
- a copy with a probe script appended, at 800 px: every text of every SVG lies inside its
  drawing (measured by the browser, after the figure is scaled to the page), the page
  does not scroll sideways (wide tables scroll in their own box), and no model name is
  broken anywhere but after its ``/``.

Without ``chromium`` on PATH the test is skipped with the reason, except in CI (``CI``
set), where it fails: ``.ci/run`` installs it.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evals import EvalItem
from evals._results import compare, score_results
from evals._table import points
from fanout.cli import main

MODELS = [
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
    "Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",  # thinks in <think> tags
]
RIGHT = {MODELS[0]: 30, MODELS[1]: 36, MODELS[2]: 21}  # of 40 items
ITEMS = 40

# Appended to a copy of the report (the report itself has no script): measures what the
# browser drew and writes it into the page as JSON, which --dump-dom prints.
PROBE = """<script>
(() => {
  const out = {overflow: [], texts: 0, broken: []};
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll("text")) {
      const r = t.getBoundingClientRect();
      out.texts += 1;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
          r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
        out.overflow.push([t.textContent, [r.left, r.top, r.right, r.bottom],
                           [box.left, box.top, box.right, box.bottom]]);
      }
    }
  }
  for (const span of document.querySelectorAll("td .nw, th .nw")) {
    if (span.getClientRects().length !== 1) out.broken.push(span.textContent);
  }
  out.scrollWidth = document.documentElement.scrollWidth;
  out.clientWidth = document.documentElement.clientWidth;
  out.text = document.body.innerText;
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not on PATH: CI must install it (.ci/run does)")
        pytest.skip("chromium is not on PATH (apt-get install chromium); CI installs and runs it")
    return found


def item(i: int) -> dict[str, Any]:
    return {
        "id": f"q{i}",
        "input": f"What is {i} + 1?",
        "target": i + 1,
        "metadata": {
            "difficulty": ("easy", "medium", "hard")[i % 3],
            "group": f"arithmetic/crates-sell-arrive-{'share' if i % 2 else 'ship'}",
        },
    }


def answer(text: str, p: float, thought: str = "") -> dict[str, Any]:
    """A choice whose answer token has probability ``p``, after ``thought`` if any."""
    number = text.rsplit(" ", 1)[-1]
    return {
        "message": {"role": "assistant", "content": thought + text},
        "finish_reason": "stop",
        "logprobs": {
            "tokens": ["Answer", ":", f" {number}"],
            "token_logprobs": [0.0, 0.0, math.log(p)],
        },
    }


def result_line(model: str, i: int) -> dict[str, Any]:
    right = i < RIGHT[model]
    thinks = "DeepSeek-R1" in model
    thought = "<think>Count the crates, then add one.</think>\n" if thinks else ""
    first = answer(f"Answer: {i + 1 if right else -1}", 0.55 + (i % 5) / 10, thought)
    second = answer(f"Answer: {i + 1 if i % 3 else 0}", 0.9, thought)
    body = {
        "model": model,
        "choices": [{"index": 0, **first}, {"index": 1, **second}],
        "usage": {
            "prompt_tokens": 40,
            "completion_tokens": 900 if thinks else 12,
            "completion_tokens_details": {"reasoning_tokens": 880 if thinks else 0},
        },
    }
    return {
        "id": f"r{i}",
        "custom_id": f"q{i}",
        "response": {"status_code": 200, "request_id": "r", "body": body},
        "error": None,
    }


def dump_dom(chromium: str, page: Path, width: int, tmp_path: Path) -> tuple[str, str]:
    """The DOM Chromium built from ``page`` at ``width`` px, and what it logged."""
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / f'profile-{width}'}",
            f"--window-size={width},2000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def test_the_report_renders_whole_in_chromium(chromium: str, tmp_path: Path) -> None:
    evalset = tmp_path / "set.jsonl"
    evalset.write_text("".join(json.dumps(item(i)) + "\n" for i in range(ITEMS)))
    files = []
    for model in MODELS:
        path = tmp_path / f"{model.replace('/', '_')}.results.jsonl"
        path.write_text("".join(json.dumps(result_line(model, i)) + "\n" for i in range(ITEMS)))
        files.append(str(path))
    report = tmp_path / "report.html"
    ran = CliRunner().invoke(
        main, ["report", *files, "--evalset", str(evalset), "--out", str(report)]
    )
    assert ran.exit_code == 0, ran.output
    page = report.read_text(encoding="utf-8")
    for fetch in ("<script", "<link", "src=", "href=", "@import", "url("):
        assert fetch not in page  # self-contained: nothing to fetch, nothing to run

    # What the figures should be, from the same results scored here.
    items = {f"q{i}": EvalItem(id=f"q{i}", target=i + 1, input="?") for i in range(ITEMS)}
    scores = []
    for model in MODELS:
        lines = [result_line(model, i) for i in range(ITEMS)]
        scores.append(score_results(lines, items, label=model))
    expected = []
    for s in scores:
        acc = s.accuracy()
        assert acc.mean == RIGHT[s.model] / ITEMS
        expected += [
            s.model,
            f"{100 * acc.mean:.1f}%",
            f"{100 * acc.ci_low:.1f}% to {100 * acc.ci_high:.1f}%",
        ]
    diff = compare(scores[0], scores[1]).paired
    expected += [points(diff.diff), f"{points(diff.ci_low)} to {points(diff.ci_high)}"]

    dom, log = dump_dom(chromium, report, 1280, tmp_path)
    console = [ln for ln in log.splitlines() if ":CONSOLE" in ln]
    assert not console, console
    text = html.unescape(re.sub(r"<[^>]+>", "", dom))
    for figure in expected:
        assert figure in text, figure
    assert "$" in text and not re.search(r"\$[\d.,]*e", text)  # money without exponents
    assert dom.count("<svg") == 2  # the overview and the reliability diagram
    assert "Reliability diagram" in text and "pass@2" in text

    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom, log = dump_dom(chromium, probed, 800, tmp_path)
    assert not [ln for ln in log.splitlines() if ":CONSOLE" in ln], log[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run"
    probe = json.loads(html.unescape(found.group(1)))
    assert probe["texts"] > 30  # model names, ticks, values, legends
    assert probe["overflow"] == [], probe["overflow"]  # every SVG text inside its drawing
    assert probe["scrollWidth"] <= probe["clientWidth"], probe  # no sideways page scroll
    assert probe["broken"] == []  # a name breaks only after its "/"
    for model in MODELS:  # rendered (not hidden), whole, in the tables
        assert model in probe["text"], model
