"""What fanout knows about tiers and models: ``config/tiers.toml`` and ``config/models.toml``.

`Catalog.load()` reads both files once (``FANOUT_CONFIG_DIR`` overrides the directory; the
default is the top-level ``config/``, shipped inside the wheel as ``runner/config``). Two
questions are answered from them:

- `Catalog.limits(tier, model)`: the requests/min and tokens/min a tier gives a model. The
  model's class (``models.toml``) may have its own, lower row for that tier in
  ``tiers.toml``; a value the class leaves out comes from the tier's own row.
- `Catalog.model(name)`: price per 1M input/output tokens, rate-limit class, and where the
  model returns its reasoning. A model not listed gets the ``[defaults]`` (no price) and
  ``known=False``; the CLI prints one warning line for it.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._exceptions import ConfigError

__all__ = ["REASONING_STYLES", "Catalog", "Limits", "ModelInfo", "default_config_dir"]

REASONING_STYLES = ("none", "inline", "inline-no-open", "field", "auto")


def default_config_dir() -> Path:
    """``$FANOUT_CONFIG_DIR``, else the tables shipped in the wheel, else the checkout's."""
    env = os.environ.get("FANOUT_CONFIG_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    installed = here / "config"  # the wheel maps the top-level config/ to runner/config
    return installed if (installed / "tiers.toml").is_file() else here.parent / "config"


@dataclass(frozen=True, slots=True)
class Limits:
    """Requests and tokens per minute for one model (None: no limit known)."""

    rpm: float | None
    tpm: float | None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    rate_class: str
    price_input: float | None  # USD per 1M tokens; None when unknown
    price_output: float | None
    reasoning: str  # one of REASONING_STYLES
    known: bool  # listed in models.toml
    sim_accuracy: dict[str, float] | None = None  # the simulator's stated accuracy, if set
    serverless: bool = True  # False: Together serves it only on a dedicated endpoint

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for that usage, or None when the price is unknown."""
        if self.price_input is None or self.price_output is None:
            return None
        return (prompt_tokens * self.price_input + completion_tokens * self.price_output) / 1e6


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing (set FANOUT_CONFIG_DIR to the config folder)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _rate(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{path}: {where} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{path}: {where} must be positive, got {value!r}")
    return float(value)


def _price(path: Path, where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{path}: {where} must be a price >= 0 (USD per 1M tokens)")
    return float(value)


def _flag(path: Path, where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: {where} must be true or false, got {value!r}")
    return value


def _accuracy(path: Path, where: str, table: Any) -> dict[str, float] | None:
    if table is None:
        return None
    if not isinstance(table, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
        for v in table.values()
    ):
        raise ConfigError(f"{path}: {where} must map difficulties to accuracies in [0, 1]")
    return {str(k): float(v) for k, v in table.items()}


class Catalog:
    """Tiers, model classes and models, validated on load."""

    def __init__(
        self,
        tiers: dict[str, Limits],
        classes: dict[str, dict[str, Limits]],
        models: dict[str, ModelInfo],
        defaults: ModelInfo,
        sim_rows: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self.sim_rows = sim_rows or {}
        self.tiers = tiers
        self.classes = classes
        self.models = models
        self.defaults = defaults

    @classmethod
    def load(cls, config_dir: Path | None = None) -> Catalog:
        folder = default_config_dir() if config_dir is None else config_dir
        tiers_path, models_path = folder / "tiers.toml", folder / "models.toml"
        raw_tiers = _read(tiers_path)
        tiers: dict[str, Limits] = {}
        for name, row in raw_tiers.get("tiers", {}).items():
            if not isinstance(row, dict):
                raise ConfigError(f"{tiers_path}: [tiers.{name}] must be a table")
            tiers[str(name)] = Limits(
                _rate(tiers_path, f"tiers.{name}.rpm", row.get("rpm")),
                _rate(tiers_path, f"tiers.{name}.tpm", row.get("tpm")),
            )
        if not tiers:
            raise ConfigError(f"{tiers_path}: no [tiers.*] rows")
        classes: dict[str, dict[str, Limits]] = {}
        for cname, ctable in raw_tiers.get("classes", {}).items():
            rows: dict[str, Limits] = {}
            for tname, row in ctable.get("tiers", {}).items():
                if str(tname) not in tiers:
                    raise ConfigError(f"{tiers_path}: classes.{cname} names unknown tier {tname!r}")
                where = f"classes.{cname}.tiers.{tname}"
                rpm, tpm = row.get("rpm"), row.get("tpm")
                rows[str(tname)] = Limits(
                    None if rpm is None else _rate(tiers_path, f"{where}.rpm", rpm),
                    None if tpm is None else _rate(tiers_path, f"{where}.tpm", tpm),
                )
            classes[str(cname)] = rows

        raw_models = _read(models_path)
        d = raw_models.get("defaults", {})
        defaults = ModelInfo("", str(d.get("class", "chat")), None, None, "auto", False)
        models: dict[str, ModelInfo] = {}
        for name, row in raw_models.get("models", {}).items():
            reasoning = str(row.get("reasoning", defaults.reasoning))
            if reasoning not in REASONING_STYLES:
                raise ConfigError(
                    f"{models_path}: models.{name!r}.reasoning must be one of "
                    f"{', '.join(REASONING_STYLES)}, got {reasoning!r}"
                )
            rate_class = str(row.get("class", defaults.rate_class))
            if rate_class not in classes and rate_class != "chat":
                raise ConfigError(
                    f"{models_path}: models.{name!r} names unknown class {rate_class!r}"
                )
            models[name] = ModelInfo(
                name,
                rate_class,
                _price(models_path, f"models.{name!r}.input", row.get("input")),
                _price(models_path, f"models.{name!r}.output", row.get("output")),
                reasoning,
                True,
                _accuracy(models_path, f"models.{name!r}.sim_accuracy", row.get("sim_accuracy")),
                _flag(models_path, f"models.{name!r}.serverless", row.get("serverless", True)),
            )
        sim_rows = {}
        for kind, table in raw_models.get("sim", {}).items():
            if kind not in ("reasoning", "direct"):
                raise ConfigError(
                    f"{models_path}: [sim.{kind}]: the rows are sim.reasoning and sim.direct"
                )
            checked = _accuracy(models_path, f"sim.{kind}", table)
            if checked is not None:
                sim_rows[str(kind)] = checked
        return cls(tiers, classes, models, defaults, sim_rows)

    def sim_accuracy(self, name: str) -> dict[str, float] | None:
        """The simulator's stated accuracy by difficulty for ``name``: its own table, else the
        ``[sim.reasoning]`` or ``[sim.direct]`` row (`sim_rows`) by its reasoning style; None
        for ``auto``, which the simulator decides (and takes the row from `sim_rows`)."""
        info = self.model(name)
        if info.sim_accuracy is not None:
            return info.sim_accuracy
        if info.reasoning in ("inline", "inline-no-open", "field"):
            return self.sim_rows.get("reasoning")
        if info.reasoning == "none":
            return self.sim_rows.get("direct")
        return None

    def serverless_alternatives(self, reasoning: bool) -> list[str]:
        """Listed models Together serves without a dedicated endpoint, reasoning or not."""
        return sorted(
            m.name
            for m in self.models.values()
            if m.serverless and (m.reasoning not in ("none", "auto")) == reasoning
        )

    def model(self, name: str) -> ModelInfo:
        info = self.models.get(name)
        if info is not None:
            return info
        d = self.defaults
        return ModelInfo(name, d.rate_class, None, None, d.reasoning, False)

    def tier_names(self) -> list[str]:
        return list(self.tiers)

    def limits(self, tier: str, model: str) -> Limits:
        """What ``tier`` gives ``model`` per minute (its class's row first, then the tier's)."""
        base = self.tiers.get(tier)
        if base is None:
            raise ConfigError(f"unknown tier {tier!r}; known tiers: {', '.join(self.tiers)}")
        row = self.classes.get(self.model(model).rate_class, {}).get(tier)
        if row is None:
            return base
        return Limits(
            row.rpm if row.rpm is not None else base.rpm,
            row.tpm if row.tpm is not None else base.tpm,
        )
