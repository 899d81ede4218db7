"""The simulator's Together-style limits: burst, token refunds, per-model and dynamic limits,
overload 503s, and the ``fanout sim`` options that set them.

Everything rate-related runs on :class:`togethersim._app.SimApp` with a fake clock; only the
overload tests use a real socket, because in-flight counting is the server's job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from fanout.cli import _sim as sim_cli
from fanout.cli._sim import sim_command
from togethersim import SimConfig, SimServer
from togethersim._app import Reply, SimApp
from togethersim._config import parse_model_limit
from togethersim._ratelimit import RateLimiter, SuccessWindow

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
OTHER = "Qwen/Qwen2.5-7B-Instruct-Turbo"
PROMPT = "What is 2+2?"  # 12 characters: 12 // 4 + 4 per message = 7 prompt tokens


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _body(model: str = MODEL, max_tokens: int | None = None, content: str = PROMPT) -> bytes:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": content}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return json.dumps(body).encode()


def _send(app: SimApp, body: bytes | None = None, fault: str | None = None) -> Reply:
    headers = [(b"x-sim-fault", fault.encode())] if fault else []
    return app.handle(b"POST", b"/v1/chat/completions", headers, body or _body())


def _headers(reply: Reply) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in reply.headers}


def _error(reply: Reply) -> dict[str, Any]:
    error = json.loads(reply.body)["error"]
    assert isinstance(error, dict)
    return error


def _tokens_left(app: SimApp, model: str = MODEL) -> int:
    """Peek at the token bucket: a forced 429 charges nothing and reports the level."""
    return int(_headers(_send(app, _body(model), fault="429"))["x-ratelimit-remaining-tokens"])


# --- burst -------------------------------------------------------------------------------


def test_burst_bucket_holds_two_seconds_and_remaining_exceeds_limit() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(rpm=600), clock)  # 10/s; default burst 2 -> 20 requests
    first = _headers(_send(app))
    assert first["x-ratelimit-limit"] == "10"  # still the per-second limit
    assert first["x-ratelimit-remaining"] == "19"  # more than the limit, as Together shows
    statuses = [_send(app).status for _ in range(20)]
    assert statuses == [200] * 19 + [429]
    clock.now += 0.1  # one request flows back in
    assert _send(app).status == 200
    assert _send(app).status == 429


def test_burst_setting_scales_capacity_but_never_below_one() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(rpm=600, burst=0.5), clock)  # max(1, 0.5 * 10/s) = 5 requests
    assert _headers(_send(app))["x-ratelimit-remaining"] == "4"
    tiny = SimApp(SimConfig(rpm=6, burst=0.5), clock)  # 0.1/s * 0.5 = 0.05 -> room for one
    assert _send(tiny).status == 200
    refused = _send(tiny)
    assert refused.status == 429
    assert _headers(refused)["retry-after"] == "10"  # one request at 0.1/s


# --- token charge and refund ---------------------------------------------------------------


def test_unused_completion_budget_is_refunded_when_the_answer_is_done() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(tpm=6000), clock)  # 100 tokens/s, capacity 200
    reply = _send(app, _body(max_tokens=150))  # budget 7 + 150 = 157
    assert reply.status == 200
    assert _headers(reply)["x-ratelimit-remaining-tokens"] == "43"
    assert _headers(reply)["x-ratelimit-limit-tokens"] == "100"
    used = json.loads(reply.body)["usage"]["completion_tokens"]
    assert 0 < used < 150
    assert _tokens_left(app) == 43  # nothing comes back before the answer is done
    app.finish(reply)
    assert _tokens_left(app) == 43 + 150 - used
    app.finish(reply)  # a second report changes nothing
    assert _tokens_left(app) == 43 + 150 - used


def test_refund_is_capped_at_capacity_and_errors_refund_the_whole_completion() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(tpm=6000), clock)
    failed = _send(app, _body(max_tokens=150), fault="500")
    assert failed.status == 500
    assert _tokens_left(app) == 43
    app.finish(failed)  # no completion was produced: only the prompt stays charged
    assert _tokens_left(app) == 200 - 7
    pending = _send(app, _body(max_tokens=150))
    clock.now += 10  # the bucket refills to capacity meanwhile
    app.finish(pending)
    assert _tokens_left(app) == 200


def test_a_budget_above_capacity_is_charged_capacity_and_refunded_in_proportion() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(tpm=600), clock)  # 10 tokens/s, capacity 20
    reply = _send(app)  # budget 7 + 512, charged 20
    assert reply.status == 200
    assert _headers(reply)["x-ratelimit-remaining-tokens"] == "0"
    assert _send(app).status == 429
    app.finish(reply)  # charged 20 < prompt + completion: nothing to give back
    assert _tokens_left(app) == 0


# --- per-model limits ------------------------------------------------------------------------


def test_per_model_limit_overrides_the_global_one_and_has_its_own_429() -> None:
    clock = _Clock()
    config = SimConfig(
        rpm=600, tpm=60000, burst=1.0, model_limits={MODEL: (60, None), OTHER: (None, 600)}
    )
    app = SimApp(config, clock)
    ok = _send(app)
    assert _headers(ok)["x-ratelimit-limit"] == "1"
    assert _headers(ok)["x-ratelimit-limit-tokens"] == "1000"  # tpm inherited
    limited = _send(app)
    assert limited.status == 429
    error = _error(limited)
    assert error["type"] == "model_rate_limit"
    assert error["message"] == (
        f"You have reached the rate limit specific to this model {MODEL}. The maximum rate "
        "limit for this model is 60.0 queries and 60000 tokens per minute."
    )
    other = _send(app, _body(OTHER, max_tokens=5))
    assert _headers(other)["x-ratelimit-limit"] == "10"  # rpm inherited
    assert _headers(other)["x-ratelimit-limit-tokens"] == "10"
    assert _error(_send(app, _body(OTHER, max_tokens=5)))["type"] == "model_rate_limit"
    plain = "some/unlisted-model"
    for _ in range(10):
        assert _send(app, _body(plain, max_tokens=5)).status == 200
    assert _error(_send(app, _body(plain, max_tokens=5)))["type"] == "rate_limit"


def test_model_limit_without_global_limits_leaves_other_models_unlimited() -> None:
    app = SimApp(SimConfig(model_limits={MODEL: (60, None)}), _Clock())
    assert _send(app).status == 200
    assert _send(app).status == 200  # burst 2
    assert _send(app).status == 429
    free = _send(app, _body(OTHER))
    assert free.status == 200
    assert not any(k.startswith("x-ratelimit") for k in _headers(free))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("org/model=60", ("org/model", (60.0, None))),
        ("org/model=60:6000", ("org/model", (60.0, 6000.0))),
        ("org/model=:6000", ("org/model", (None, 6000.0))),
        ("a=b=1.5", ("a=b", (1.5, None))),
    ],
)
def test_parse_model_limit(spec: str, expected: tuple[str, tuple[float | None, ...]]) -> None:
    assert parse_model_limit(spec) == expected


@pytest.mark.parametrize("spec", ["org/model", "=60", "m=", "m=:", "m=x", "m=0", "m=1:-5", "m=inf"])
def test_parse_model_limit_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_model_limit(spec)


def test_config_checks_new_fields() -> None:
    for bad in (
        {"burst": 0},
        {"burst": float("nan")},
        {"model_limits": {MODEL: (None, None)}},
        {"model_limits": {MODEL: (-1, None)}},
        {"dynamic_window": 0},
        {"dynamic_base_rpm": 120, "dynamic_cap_rpm": 60},
        {"overload_concurrency": 0},
        {"overload_concurrency": True},
    ):
        with pytest.raises(ValueError):
            SimConfig(**bad)
    limits: dict[str, tuple[float | None, float | None]] = {MODEL: (60.0, None)}
    config = SimConfig(model_limits=limits)
    limits[MODEL] = (1.0, None)
    assert config.model_limits == {MODEL: (60.0, None)}  # the config keeps its own copy


# --- dynamic limits --------------------------------------------------------------------------


def test_dynamic_rate_starts_at_base_and_rejects_with_dynamic_type() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(dynamic=True, burst=1.0), clock)
    ok = _send(app)
    headers = _headers(ok)
    assert headers["x-ratelimit-limit-dynamic"] == "1"  # 60 RPM base
    assert headers["x-ratelimit-remaining-dynamic"] == "0"
    assert "x-ratelimit-limit" not in headers  # no static rpm set
    limited = _send(app)
    assert limited.status == 429
    assert _error(limited)["type"] == "dynamic_request_limited"
    assert _headers(limited)["x-ratelimit-remaining-dynamic"] == "0"
    assert _headers(limited)["x-ratelimit"] == "true"


def test_dynamic_rate_grows_with_sustained_success_up_to_the_cap_and_decays() -> None:
    clock = _Clock()
    config = SimConfig(dynamic=True, burst=1.0, dynamic_cap_rpm=300, dynamic_window=10)
    app = SimApp(config, clock)
    seen: list[float] = []
    for _ in range(400):  # 40 s, trying every 0.1 s
        reply = _send(app)
        seen.append(float(_headers(reply)["x-ratelimit-limit-dynamic"]))
        if reply.status == 200:
            app.finish(reply)
        else:
            assert _error(reply)["type"] == "dynamic_request_limited"
        clock.now += 0.1
    assert seen[0] == 1.0
    per_second = seen[::10]
    assert per_second == sorted(per_second)  # sustained success keeps raising it
    assert 1.0 < seen[100] < 5.0  # after 10 s: up, not yet at the cap
    assert seen[-1] == 5.0  # capped at 300 RPM
    assert app._limiter.dynamic_rpm(MODEL) == pytest.approx(300)
    clock.now += 11  # a window with no successes: back to the base rate
    assert _headers(_send(app))["x-ratelimit-limit-dynamic"] == "1"


def test_only_successes_raise_the_dynamic_rate() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(dynamic=True, burst=1.0), clock)

    def dynamic_limit() -> str:  # a forced 429 charges nothing and shows the headers
        return _headers(_send(app, fault="429"))["x-ratelimit-limit-dynamic"]

    for _ in range(20):
        failed = _send(app, fault="500")
        assert failed.status == 500
        app.finish(failed)
        clock.now += 1
    assert dynamic_limit() == "1"
    for i in range(10):
        reply = _send(app)
        assert reply.status == 200
        app.finish(reply)
        if i == 4:
            assert dynamic_limit() == "1"  # 5 successes in 10 s: 2 * 0.5/s, the base
        clock.now += 1
    clock.now -= 0.5  # 9.5 s after the first success: all 10 in the window
    assert dynamic_limit() == "2"


def test_dynamic_mode_with_static_limits_sends_both_pairs() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(rpm=600, tpm=600, dynamic=True), clock)
    headers = _headers(_send(app, _body(max_tokens=5)))
    assert headers["x-ratelimit-limit"] == "10"
    assert headers["x-ratelimit-remaining"] == "19"
    assert headers["x-ratelimit-limit-dynamic"] == "1"
    assert headers["x-ratelimit-remaining-dynamic"] == "1"
    clock.now += 5  # everything full again
    big = _send(app)  # 7 + 512 tokens: charged the whole bucket (20) and admitted
    assert big.status == 200
    refused = _send(app, _body(max_tokens=5))  # requests left, tokens not
    assert refused.status == 429
    assert _error(refused)["type"] == "dynamic_token_limited"


def test_success_window_counts_only_the_recent_past() -> None:
    window = SuccessWindow(10.0)
    for t in range(20):
        window.add(100.0 + t)
    assert window.count(119.5) == 10  # slots 110..119
    assert window.count(200.0) == 0
    window.add(200.0)
    assert window.count(200.0) == 1


def test_limiter_refund_puts_requests_back() -> None:
    clock = _Clock()
    limiter = RateLimiter(rpm=60, tpm=None, clock=clock, burst=1.0)
    assert limiter.check("m", 1).allowed
    assert not limiter.check("m", 1).allowed
    limiter.refund("m", 0, requests=1)
    assert limiter.check("m", 1).allowed


# --- overload --------------------------------------------------------------------------------


def test_overload_is_checked_after_the_rate_limit_and_charges_nothing() -> None:
    clock = _Clock()
    app = SimApp(SimConfig(rpm=120, burst=1.0, overload_concurrency=1), clock)  # 2 requests
    first = _send(app)
    assert first.status == 200
    assert app.in_flight == 1
    busy = _send(app)
    assert busy.status == 503
    assert _error(busy)["message"] == "Engine overloaded"
    assert app.in_flight == 1
    app.finish(busy)
    assert app.stats.snapshot()["by_status"] == {"503": 1}
    app.finish(first)
    assert app.in_flight == 0
    assert _send(app).status == 200  # the 503 gave its request back
    assert _send(app).status == 429  # now the rate limit, not overload, answers first


def _wait_until(check: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_overload_503_above_n_in_flight_over_a_socket() -> None:
    sim = SimServer(SimConfig(latency=(0.4, 0.4), overload_concurrency=2))
    limits = httpx.Limits(max_connections=8)
    with (
        sim.run_in_thread() as url,
        httpx.Client(base_url=url, timeout=5, limits=limits) as client,
        ThreadPoolExecutor(4) as pool,
    ):
        body = json.loads(_body())
        replies = list(pool.map(lambda _: client.post("/chat/completions", json=body), range(4)))
        statuses = sorted(r.status_code for r in replies)
        assert statuses == [200, 200, 503, 503]
        busy = next(r for r in replies if r.status_code == 503)
        assert busy.json()["error"]["message"] == "Engine overloaded"
        assert sim.stats()["by_status"] == {"200": 2, "503": 2}
        assert sim.in_flight == 0
        assert client.post("/chat/completions", json=body).status_code == 200


def test_in_flight_is_released_on_give_up_reset_and_truncate() -> None:
    sim = SimServer(SimConfig(latency=(0.2, 0.2), overload_concurrency=1))
    body = json.loads(_body())
    with sim.run_in_thread() as url:
        with httpx.Client(base_url=url, timeout=0.05) as impatient:
            with pytest.raises(httpx.ReadTimeout):
                impatient.post("/chat/completions", json=body)
        assert _wait_until(lambda: sim.stats()["by_status"].get("abandoned") == 1)
        assert sim.in_flight == 0
        with httpx.Client(base_url=url, timeout=5) as client:
            for fault in ("reset", "truncate"):
                with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
                    client.post("/chat/completions", json=body, headers={"x-sim-fault": fault})
                assert sim.in_flight == 0, fault
            assert client.post("/chat/completions", json=body).status_code == 200
        assert sim.stats()["by_status"] == {"abandoned": 1, "reset": 1, "truncate": 1, "200": 1}


# --- the command line ------------------------------------------------------------------------


def _config_from_cli(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> SimConfig:
    seen: list[SimConfig] = []

    async def fake_serve(server: SimServer) -> None:
        seen.append(server.config)

    monkeypatch.setattr(sim_cli, "_serve_until_signalled", fake_serve)
    result = CliRunner().invoke(sim_command, ["--port", "0", *args])
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    return seen[0]


def test_cli_limit_options_reach_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config_from_cli(
        monkeypatch,
        [
            "--rpm",
            "600",
            "--burst",
            "3",
            "--model-limit",
            "org/a=60:6000",
            "--model-limit",
            "org/b=:1000",
            "--dynamic",
            "--dynamic-base-rpm",
            "30",
            "--dynamic-cap-rpm",
            "900",
            "--dynamic-window",
            "5",
            "--overload-concurrency",
            "8",
        ],
    )
    assert config.rpm == 600
    assert config.burst == 3
    assert config.model_limits == {"org/a": (60.0, 6000.0), "org/b": (None, 1000.0)}
    assert config.dynamic is True
    assert config.dynamic_base_rpm == 30
    assert config.dynamic_cap_rpm == 900
    assert config.dynamic_window == 5
    assert config.overload_concurrency == 8


def test_cli_defaults_match_simconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _config_from_cli(monkeypatch, []) == SimConfig()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model-limit", "no-equals-sign"], "MODEL=RPM"),
        (["--model-limit", "m=0"], "positive"),
        (["--model-limit", "m=1", "--model-limit", "m=2"], "twice"),
        (["--overload-concurrency", "0"], "overload-concurrency"),
        (["--burst", "0"], "burst"),
        (["--dynamic-cap-rpm", "10"], "dynamic_cap_rpm"),
    ],
)
def test_cli_rejects_bad_limit_options(
    monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    async def never(server: SimServer) -> None:
        raise AssertionError("should not serve")

    monkeypatch.setattr(sim_cli, "_serve_until_signalled", never)
    result = CliRunner().invoke(sim_command, ["--port", "0", *args])
    assert result.exit_code == 2
    assert needle in result.output
