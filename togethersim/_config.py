"""The simulator's settings, and the latency spec parser the CLI uses.

:class:`SimConfig` is a frozen value: build it once, hand it to :class:`SimServer`.
Every field is checked on construction so a bad setting fails before a socket is opened.
"""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from ._answers import AnswerKey
from ._faults import FaultRates
from ._inference import ReasoningStyle


def _check_seconds(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


def parse_latency(spec: str) -> tuple[float, float]:
    """Parse ``"0"``, ``"0.2"`` (fixed) or ``"0.1-2.0"`` (uniform between) into (low, high).

    Seconds, non-negative, low <= high. Raises ``ValueError`` naming the problem.
    """
    text = spec.strip()
    low_text, sep, high_text = text.partition("-")
    try:
        low = float(low_text)
        high = float(high_text) if sep else low
    except ValueError:
        raise ValueError(
            f"latency {spec!r} is not SECONDS or LOW-HIGH (e.g. '0.2' or '0.1-2.0')"
        ) from None
    _check_seconds("latency", low)
    _check_seconds("latency", high)
    if low > high:
        raise ValueError(f"latency {spec!r}: low bound {low:g} is above high bound {high:g}")
    return (low, high)


ModelLimit = tuple[float | None, float | None]  # (rpm, tpm); None = the global value
ACCURACY_KINDS = ("reasoning", "direct")  # the tables of SimConfig.default_accuracy


def _check_accuracy(name: str, table: object) -> None:
    if not isinstance(table, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
        for v in table.values()
    ):
        raise ValueError(f"{name} must map difficulties to accuracies in [0, 1], got {table!r}")


def _check_rate(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number or None, got {value!r}")


def parse_model_limit(spec: str) -> tuple[str, ModelLimit]:
    """Parse ``"MODEL=RPM[:TPM]"`` (the CLI's ``--model-limit``) into (model, (rpm, tpm)).

    RPM may be left empty (``"MODEL=:60000"``) to limit only tokens; a part left out or
    empty is None, meaning the global limit applies to that model. Raises ``ValueError``.
    """
    model, sep, limits = spec.strip().rpartition("=")
    model = model.strip()
    if not sep or not model:
        raise ValueError(f"model limit {spec!r} is not MODEL=RPM[:TPM] (e.g. 'org/model=60:60000')")
    rpm_text, _, tpm_text = limits.partition(":")
    values: list[float | None] = []
    for what, text in (("RPM", rpm_text.strip()), ("TPM", tpm_text.strip())):
        if not text:
            values.append(None)
            continue
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"model limit {spec!r}: {what} {text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"model limit {spec!r}: {what} must be a positive number")
        values.append(value)
    if values[0] is None and values[1] is None:
        raise ValueError(f"model limit {spec!r} sets neither RPM nor TPM")
    return model, (values[0], values[1])


@dataclass(frozen=True)
class SimConfig:
    """How the simulator behaves.

    Rate limits (see :mod:`._ratelimit` for the exact bucket model):

    * ``rpm`` and ``tpm`` are per model and, like Together's, enforced per second: a bucket
      refills at ``rpm / 60`` requests (``tpm / 60`` tokens) per second and holds at most
      ``max(1, burst * rate per second)``, so ``x-ratelimit-remaining`` can exceed
      ``x-ratelimit-limit`` as it does at Together. A request is charged one request and
      ``prompt_tokens + max_tokens`` tokens (``max_tokens`` 512 when absent, the charge
      capped at the bucket's capacity); the unused completion budget is refunded when the
      answer is produced.
    * ``model_limits`` maps a model to its own ``(rpm, tpm)``; None in either place keeps the
      global value. Rejections for such a model get Together's ``model_rate_limit`` body.
    * ``dynamic`` turns on Together's dynamic limits: per model the request rate is
      ``clamp(2 * successful requests per second over the last dynamic_window seconds,
      dynamic_base_rpm, dynamic_cap_rpm)`` (the cap defaults to the model's rpm, or 6000).
    * ``overload_concurrency``: with more than that many inference requests in progress,
      a new one gets 503 ``Engine overloaded``.

    With ``api_key`` set, inference requests without ``Authorization: Bearer <api_key>`` get
    Together's 401.

    Models Together would refuse, whatever the request: ``unknown_models`` get its 404
    ``model_not_available`` ("Unable to access model X. Please visit ..."), as a mistyped name
    does; ``dedicated_models`` its 400 ``model_not_available`` ("Unable to access
    non-serverless model X ... create and start a new dedicated endpoint"), as a model listed
    but not served serverless does. ``served_models``, when set, is Together's catalogue: any
    name neither in it nor refused above gets the 404 too (None: any other name is served).
    """

    latency: tuple[float, float] = (0.0, 0.0)  # uniform per request, seconds
    faults: FaultRates = field(default_factory=FaultRates)
    slow_seconds: float = 30.0  # how long the "slow" fault sleeps before answering
    seed: int = 0  # seeds the fault draw (and, separately, the latency draw)
    rpm: float | None = None
    tpm: float | None = None
    api_key: str | None = None
    burst: float = 2.0  # bucket capacity in seconds of rate (at least one unit)
    # model -> (rpm, tpm) overriding rpm / tpm for that model; None keeps the global value
    model_limits: dict[str, ModelLimit] = field(default_factory=dict, hash=False)
    dynamic: bool = False
    dynamic_base_rpm: float = 60.0  # the dynamic rate never drops below this
    dynamic_cap_rpm: float | None = None  # ... nor rises above this; None: the rpm, or 6000
    dynamic_window: float = 10.0  # seconds of success history (Together: an hour)
    overload_concurrency: int | None = None  # more requests than this in progress -> 503
    answers: AnswerKey | None = field(default=None, hash=False)  # eval prompts it can answer
    token_seconds: float = 0.0  # extra latency per completion token (thinking takes time)
    # Per model: accuracy by difficulty on answer-key prompts, and how it shows reasoning
    # ("none", "field", "inline", "inline-no-open"); a model not named gets its style from
    # its name and its accuracy from default_accuracy: the "reasoning" table if it reasons,
    # the "direct" one if not; without that table, a coin flip (_answers.FALLBACK_ACCURACY).
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict, hash=False)
    styles: dict[str, ReasoningStyle] = field(default_factory=dict, hash=False)
    default_accuracy: dict[str, dict[str, float]] = field(default_factory=dict, hash=False)
    unknown_models: AbstractSet[str] = frozenset()  # answered 404 model_not_available
    dedicated_models: AbstractSet[str] = frozenset()  # answered 400 model_not_available
    served_models: AbstractSet[str] | None = None  # None: all others; else only these, 404 else

    def __post_init__(self) -> None:
        low, high = self.latency
        _check_seconds("latency", low)
        _check_seconds("latency", high)
        if low > high:
            raise ValueError(f"latency low bound {low:g} is above high bound {high:g}")
        _check_seconds("slow_seconds", self.slow_seconds)
        _check_seconds("token_seconds", self.token_seconds)
        for name in ("rpm", "tpm", "burst", "dynamic_base_rpm", "dynamic_cap_rpm"):
            _check_rate(name, getattr(self, name))
        _check_rate("dynamic_window", self.dynamic_window)
        if self.dynamic_cap_rpm is not None and self.dynamic_cap_rpm < self.dynamic_base_rpm:
            raise ValueError(
                f"dynamic_cap_rpm {self.dynamic_cap_rpm:g} is below "
                f"dynamic_base_rpm {self.dynamic_base_rpm:g}"
            )
        n = self.overload_concurrency
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"overload_concurrency must be an integer >= 1 or None, got {n!r}")
        limits: dict[str, ModelLimit] = {}
        for model, pair in self.model_limits.items():
            if not isinstance(model, str) or not model:
                raise ValueError(f"model_limits keys must be model names, got {model!r}")
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ValueError(f"model_limits[{model!r}] must be (rpm, tpm), got {pair!r}")
            rpm, tpm = pair
            _check_rate(f"model_limits[{model!r}] rpm", rpm)
            _check_rate(f"model_limits[{model!r}] tpm", tpm)
            if rpm is None and tpm is None:
                raise ValueError(f"model_limits[{model!r}] sets neither rpm nor tpm")
            limits[model] = (rpm, tpm)
        object.__setattr__(self, "model_limits", limits)  # a private copy: the config is frozen
        for kind, table in self.default_accuracy.items():
            if kind not in ACCURACY_KINDS:
                raise ValueError(
                    f"default_accuracy keys are {' and '.join(ACCURACY_KINDS)}, got {kind!r}"
                )
            _check_accuracy(f"default_accuracy[{kind!r}]", table)
        for model, table in self.accuracy.items():
            _check_accuracy(f"accuracy[{model!r}]", table)
        for name in ("unknown_models", "dedicated_models"):
            names = getattr(self, name)
            if isinstance(names, str) or not all(isinstance(m, str) and m for m in names):
                raise ValueError(f"{name} must be a collection of model names, got {names!r}")
            object.__setattr__(self, name, frozenset(names))
        if self.served_models is not None:
            names = self.served_models
            if isinstance(names, str) or not all(isinstance(m, str) and m for m in names):
                raise ValueError(
                    f"served_models must be a collection of model names or None, got {names!r}"
                )
            object.__setattr__(self, "served_models", frozenset(names))
        both = self.unknown_models & self.dedicated_models
        if both:
            raise ValueError(f"models both unknown and dedicated-only: {sorted(both)}")
