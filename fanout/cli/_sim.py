"""``fanout sim``: run the simulator as a standalone server until SIGINT or SIGTERM."""

from __future__ import annotations

import signal

import anyio
import click

from runner import Catalog, ConfigError
from togethersim import (
    FaultRates,
    ModelLimit,
    SimConfig,
    SimServer,
    parse_faults,
    parse_latency,
    parse_model_limit,
)

__all__ = ["sim_command"]


def _latency_option(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    try:
        return parse_latency(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _faults_option(ctx: click.Context, param: click.Parameter, value: str) -> FaultRates:
    try:
        return parse_faults(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _model_limits_option(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict[str, ModelLimit]:
    limits: dict[str, ModelLimit] = {}
    for spec in value:
        try:
            model, pair = parse_model_limit(spec)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
        if model in limits:
            raise click.BadParameter(f"model {model!r} is given twice")
        limits[model] = pair
    return limits


def _refused_models(
    unknown: tuple[str, ...], dedicated: tuple[str, ...], only_listed: bool
) -> tuple[frozenset[str], frozenset[str], frozenset[str] | None]:
    """SimConfig's (unknown_models, dedicated_models, served_models): the names given, and
    with ``only_listed`` the models config/models.toml lists as the only ones served (those
    it marks ``serverless = false`` refused with the 400)."""
    if not only_listed:
        return frozenset(unknown), frozenset(dedicated), None
    try:
        catalog = Catalog.load()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    not_serverless = {name for name, info in catalog.models.items() if not info.serverless}
    # A name given with --unknown-model stays unknown, even one the file marks dedicated.
    dedicated_all = frozenset(dedicated) | (not_serverless - set(unknown))
    return frozenset(unknown), dedicated_all, frozenset(catalog.models)


async def _serve_until_signalled(server: SimServer) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:
            await tg.start(server.serve)
            click.echo(f"fanout sim listening on {server.base_url}")  # click.echo flushes
            async for _ in signals:
                tg.cancel_scope.cancel()
                break


@click.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to bind; 0 picks a free one (printed on start).",
)
@click.option(
    "--latency",
    default="0",
    show_default=True,
    callback=_latency_option,
    help="Reply latency in seconds: '0.2', or 'LOW-HIGH' for uniform between.",
)
@click.option(
    "--fail-rate",
    "faults",
    default="",
    callback=_faults_option,
    help="Fault rates, e.g. '500=0.05,503=0.02,520=0.01,reset=0.02,truncate=0.01,slow=0.01'; "
    "for streamed requests also 'stream-cut', 'stream-error' and 'stream-no-done'.",
)
@click.option(
    "--slow-seconds",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="How long a 'slow' fault waits before answering.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the fault draw.")
@click.option(
    "--rpm",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Requests per minute per model, enforced per second like Together.",
)
@click.option(
    "--tpm",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Tokens per minute per model, enforced per second (prompt + max_tokens charged, "
    "the unused part refunded).",
)
@click.option(
    "--burst",
    type=click.FloatRange(min=0, min_open=True),
    default=2.0,
    show_default=True,
    help="Rate-limit bucket size in seconds of rate (at least one request always fits).",
)
@click.option(
    "--model-limit",
    "model_limits",
    multiple=True,
    metavar="MODEL=RPM[:TPM]",
    callback=_model_limits_option,
    help="Limits for one model instead of --rpm/--tpm (repeatable); 429s name the model.",
)
@click.option(
    "--dynamic",
    is_flag=True,
    help="Together's dynamic limits: the request rate follows 2x recent successes.",
)
@click.option(
    "--dynamic-base-rpm",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Lowest dynamic rate, requests per minute.",
)
@click.option(
    "--dynamic-cap-rpm",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Highest dynamic rate, requests per minute  [default: --rpm, else 6000]",
)
@click.option(
    "--dynamic-window",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds of successes the dynamic rate looks back on (Together: 3600).",
)
@click.option(
    "--overload-concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Answer 503 'Engine overloaded' when N requests are already in progress.",
)
@click.option(
    "--unknown-model",
    "unknown_models",
    multiple=True,
    metavar="MODEL",
    help="Answer MODEL with 404 model_not_available, as Together answers a name it does not "
    "serve, e.g. a typo (repeatable).",
)
@click.option(
    "--dedicated-model",
    "dedicated_models",
    multiple=True,
    metavar="MODEL",
    help="Answer MODEL with 400 model_not_available, as Together answers a model it serves "
    "only on a dedicated endpoint (repeatable).",
)
@click.option(
    "--only-listed-models",
    is_flag=True,
    help="Serve only the models config/models.toml lists, as Together serves only its "
    "catalogue: 404 for any other name, 400 for one marked serverless = false.",
)
@click.option("--api-key", default=None, help="Require 'Authorization: Bearer KEY'.")
def sim_command(
    host: str,
    port: int,
    latency: tuple[float, float],
    faults: FaultRates,
    slow_seconds: float,
    seed: int,
    rpm: float | None,
    tpm: float | None,
    burst: float,
    model_limits: dict[str, ModelLimit],
    dynamic: bool,
    dynamic_base_rpm: float,
    dynamic_cap_rpm: float | None,
    dynamic_window: float,
    overload_concurrency: int | None,
    unknown_models: tuple[str, ...],
    dedicated_models: tuple[str, ...],
    only_listed_models: bool,
    api_key: str | None,
) -> None:
    """Serve a simulated Together AI API (chat and text completions) for testing."""
    unknown, dedicated, served = _refused_models(
        unknown_models, dedicated_models, only_listed_models
    )
    try:
        config = SimConfig(
            latency=latency,
            faults=faults,
            slow_seconds=slow_seconds,
            seed=seed,
            rpm=rpm,
            tpm=tpm,
            api_key=api_key,
            burst=burst,
            model_limits=model_limits,
            dynamic=dynamic,
            dynamic_base_rpm=dynamic_base_rpm,
            dynamic_cap_rpm=dynamic_cap_rpm,
            dynamic_window=dynamic_window,
            overload_concurrency=overload_concurrency,
            unknown_models=unknown,
            dedicated_models=dedicated,
            served_models=served,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    server = SimServer(config, host=host, port=port)
    try:
        anyio.run(_serve_until_signalled, server)
    except KeyboardInterrupt:  # SIGINT before the signal receiver was installed
        pass
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
