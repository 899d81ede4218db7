"""Where requests go: Together (the key from the environment), another server, or the simulator.

This is the one place that reads ``TOGETHER_API_KEY`` and ``TOGETHER_BASE_URL``; the key is
handed to the client and never stored, printed or put in an error message. It is also the
one place that wires the simulator (:mod:`togethersim`) to the runner and the eval stage,
which know nothing of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import togethersim
from evals import Expectation
from runner import DEFAULT_BASE_URL, Catalog, UsageError

__all__ = [
    "SIM_DEFAULTS",
    "EvalEndpoint",
    "Target",
    "batch_sim_config",
    "resolve_target",
]

KEY_ENV = "TOGETHER_API_KEY"
BASE_URL_ENV = "TOGETHER_BASE_URL"


@dataclass(frozen=True)
class Target:
    """A run's target: ``identity`` is ``"sim"`` or the base URL (part of the run's identity)."""

    identity: str
    api_key: str | None = field(default=None, repr=False)  # never shown

    @property
    def sim(self) -> bool:
        return self.identity == "sim"

    @property
    def together(self) -> bool:
        """Together's own API (its serverless models, its limits)."""
        return self.identity == DEFAULT_BASE_URL or "api.together." in self.identity


def resolve_target(sim: bool, base_url: str | None, api_key: str | None = None) -> Target:
    """The target of a run: the simulator, ``base_url`` or Together, with the key to send.

    ``api_key`` None reads ``$TOGETHER_API_KEY``. Without a key and without ``base_url``
    (or ``$TOGETHER_BASE_URL``) and ``sim``, a `UsageError` names the ways forward.
    """
    key = api_key or os.environ.get(KEY_ENV) or None
    if sim:
        if base_url:
            raise UsageError("--sim and --base-url are two different targets; give one")
        return Target("sim")
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    if base_url:
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"--base-url must be an http(s) URL, got {base_url!r}")
        return Target(base_url.rstrip("/"), key)
    if key is None:
        raise UsageError(
            f"no API key: set {KEY_ENV} to run against Together, or pass --sim to run "
            "against the built-in simulator (or --base-url URL for another OpenAI-compatible "
            "server). Nothing was sent."
        )
    return Target(DEFAULT_BASE_URL, key)


@dataclass(frozen=True)
class SimDefaults:
    """How ``fanout run --sim`` plays Together: tier 2's limits, some faults, real latency."""

    latency: str = "0.05-0.3"
    fail_rate: str = "500=0.02,503=0.01,reset=0.01"
    rpm: float = 1800.0
    tpm: float = 250_000.0


SIM_DEFAULTS = SimDefaults()


def batch_sim_config(
    latency: str = SIM_DEFAULTS.latency,
    fail_rate: str = SIM_DEFAULTS.fail_rate,
    rpm: float | None = SIM_DEFAULTS.rpm,
    tpm: float | None = SIM_DEFAULTS.tpm,
    *,
    timeout: float = 600.0,
) -> togethersim.SimConfig:
    """The simulator of a batch run; a bad spec is a `UsageError`."""
    try:
        return togethersim.SimConfig(
            latency=togethersim.parse_latency(latency),
            faults=togethersim.parse_faults(fail_rate),
            slow_seconds=min(timeout, 30.0),
            rpm=rpm,
            tpm=tpm,
        )
    except ValueError as exc:
        raise UsageError(f"simulator options: {exc}") from exc


@contextmanager
def serving(target: Target, sim_config: togethersim.SimConfig | None) -> Iterator[str]:
    """The base URL to send to: the target's, or a simulator started for the block."""
    if not target.sim:
        yield target.identity
        return
    with togethersim.SimServer(sim_config or batch_sim_config()).run_in_thread() as url:
        yield url


@dataclass
class EvalEndpoint:
    """An eval's `evals.Endpoint`: the target's server, or a simulator that plays the models.

    Played, each model answers at the accuracy ``config/models.toml`` states for it (by
    difficulty) and shows its reasoning in the style the catalog gives it; a model the
    catalog gives no table (reasoning ``auto``) takes the catalog's ``[sim.reasoning]`` or
    ``[sim.direct]`` row, as the simulator plays it reasoning or not. The simulator learns
    each item's right answer from the eval's `evals.Expectation` records.
    """

    target: Target
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict)
    styles: dict[str, Any] = field(default_factory=dict)
    default_accuracy: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        return self.target.sim

    @classmethod
    def for_models(cls, target: Target, models: Sequence[str], catalog: Catalog) -> EvalEndpoint:
        if not target.sim:
            return cls(target)
        accuracy = {m: a for m in models if (a := catalog.sim_accuracy(m)) is not None}
        styles = {
            m: catalog.model(m).reasoning
            for m in models
            if catalog.model(m).reasoning in togethersim.REASONING_STYLES
        }
        return cls(target, accuracy, styles, dict(catalog.sim_rows))

    @contextmanager
    def serving(self, expectations: Iterable[Expectation]) -> Iterator[tuple[str, str | None]]:
        if not self.target.sim:
            yield self.target.identity, self.target.api_key
            return
        key = togethersim.AnswerKey.build(
            (
                e.prompt,
                togethersim.AnswerSpec(
                    e.target, e.scorer, e.difficulty, e.choices, schema=e.schema, pattern=e.pattern
                ),
            )
            for e in expectations
        )
        config = togethersim.SimConfig(
            latency=(0.05, 0.3),
            rpm=6000,
            tpm=2_000_000,
            answers=key,
            token_seconds=0.0005,
            seed=1,
            accuracy=self.accuracy,
            styles=self.styles,
            default_accuracy=self.default_accuracy,
        )
        with togethersim.SimServer(config).run_in_thread() as url:
            yield url, None
