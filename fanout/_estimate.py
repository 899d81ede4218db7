"""`estimate`: what a batch would cost and take, without sending anything (``--dry-run``).

The whole job file is validated as for a run (every bad line named) into a scratch state
file, then summed per model and endpoint: jobs, estimated input tokens, the output budget
(``max_tokens`` × ``n``, or a default where a line sets none) and the price at
``config/models.toml``; then per model (its jobs on both endpoints), the least time that
model's limits allow (the tier's, or an ``rpm``/``tpm`` cap below it; the source is named).
Models go side by side, each at its own limits, so the batch's floor is the slowest model's.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import Catalog, RunOptions, Store, prepare_run

from ._batch import jobs_file

__all__ = ["Estimate", "EstimateRow", "ModelTime", "estimate"]


@dataclass(frozen=True)
class EstimateRow:
    """One model and endpoint of a batch."""

    model: str
    endpoint: str
    jobs: int
    input_tokens: int  # estimated from the text
    output_tokens: int  # the budget: max_tokens x n where set, else a default
    cost: float | None  # USD at most (output at its budget); None: no price known
    known: bool  # listed in config/models.toml


@dataclass(frozen=True)
class ModelTime:
    """The least time one model's jobs take at that model's limits (both endpoints)."""

    model: str
    jobs: int
    tokens: int
    rpm: float | None  # requests per minute it is held to; None: no limit known
    tpm: float | None
    rpm_source: str  # where the limit comes from: "tier 2", "tier 1 (assumed)", "--rpm cap"
    tpm_source: str
    seconds: float


@dataclass(frozen=True)
class Estimate:
    """What `estimate` found: one row per model and endpoint."""

    jobs_path: Path
    rows: list[EstimateRow]
    models: list[ModelTime]
    tier: str  # the tier whose limits were used
    tier_assumed: bool  # no tier was given: tier 1 assumed

    @property
    def seconds(self) -> float:
        """The least time for the batch: each model goes at its own limits, side by side."""
        return max((m.seconds for m in self.models), default=0.0)

    @property
    def jobs(self) -> int:
        return sum(r.jobs for r in self.rows)

    @property
    def cost(self) -> float | None:
        """USD at most for the whole batch; None when a model's price is unknown."""
        costs = [r.cost for r in self.rows]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)


def estimate(
    jobs: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
    *,
    model: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    stream: bool = False,
    tier: str | int | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    catalog: Catalog | None = None,
) -> Estimate:
    """Validate ``jobs`` and estimate tokens, price and duration; nothing is sent.

    Raises `JobFileInvalid` (every bad line named), `UsageError`, `ConfigError` (an unknown
    tier).
    """
    catalog = catalog or Catalog.load()
    tier_name = str(tier).lower() if tier is not None else None
    if tier_name is not None:
        catalog.limits(tier_name, "")  # an unknown tier is an error before the file is read
    with tempfile.TemporaryDirectory(prefix="fanout-dry-") as tmp:
        scratch = Path(tmp) / "dry.db"
        path = jobs_file(jobs, scratch)
        opts = RunOptions(
            jobs_path=path,
            db_path=scratch,
            out_path=Path(tmp) / "dry.results.jsonl",
            target="",
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
            stream=stream,
            new_run=True,
        )
        with Store.open(scratch) as store:
            run_row, _ = prepare_run(store, opts)
            assert run_row.id is not None
            summary = store.summary(run_row.id)
    used = tier_name or "1"
    tier_text = f"tier {used}" + ("" if tier_name else " (assumed; --tier to set)")
    rows = []
    per_model: dict[str, tuple[int, int]] = {}
    for row in summary:
        info = catalog.model(row["model"])
        prompt = row["est_prompt"]
        completion = row["est_tokens"] - prompt
        rows.append(
            EstimateRow(
                model=row["model"],
                endpoint=row["endpoint"],
                jobs=row["jobs"],
                input_tokens=prompt,
                output_tokens=completion,
                cost=info.cost(prompt, completion),
                known=info.known,
            )
        )
        jobs_n, tokens = per_model.get(row["model"], (0, 0))
        per_model[row["model"]] = (jobs_n + row["jobs"], tokens + row["est_tokens"])
    times = []
    for name, (jobs_n, tokens) in per_model.items():
        limits = catalog.limits(used, name)
        rpm_, rpm_source = _limit(limits.rpm, rpm, tier_text, "--rpm cap")
        tpm_, tpm_source = _limit(limits.tpm, tpm, tier_text, "--tpm cap")
        seconds = max(
            jobs_n / rpm_ * 60 if rpm_ else 0.0,
            tokens / tpm_ * 60 if tpm_ else 0.0,
        )
        times.append(ModelTime(name, jobs_n, tokens, rpm_, tpm_, rpm_source, tpm_source, seconds))
    jobs_path = Path(jobs) if isinstance(jobs, str | os.PathLike) else path
    return Estimate(jobs_path, rows, times, used, tier_name is None)


def _limit(
    tier_value: float | None, cap: float | None, tier_text: str, cap_text: str
) -> tuple[float | None, str]:
    """The lower of the tier's limit and the cap, and which one it is."""
    if cap is not None and (tier_value is None or cap < tier_value):
        return cap, cap_text
    if tier_value is None:
        return None, "no limit known"
    return tier_value, tier_text
