"""One retry decision per answer or transport error; backoff with a seeded RNG."""

from __future__ import annotations

import json
import random

import httpx
import pytest

from runner._retry import (
    Action,
    Backoff,
    Decision,
    classify_exception,
    classify_response,
    parse_retry_after,
    refuses_model,
)

H = httpx.Headers


def envelope(
    message: object, type_: str = "invalid_request_error", code: str | None = None
) -> bytes:
    return json.dumps(
        {"id": "x", "error": {"message": message, "type": type_, "param": None, "code": code}}
    ).encode()


def test_2xx_json_object_is_done_and_parsed() -> None:
    decision, parsed = classify_response(200, H(), b'{"id": "a", "choices": [{"text": "x"}]}')
    assert decision.action is Action.DONE
    assert parsed == {"id": "a", "choices": [{"text": "x"}]}


@pytest.mark.parametrize("body", [b"", b"not json", b"[1,2]", b'{"id": "a", "cho'])
def test_2xx_without_json_object_is_retried(body: bytes) -> None:
    decision, _ = classify_response(200, H(), body)
    assert decision.action is Action.RETRY
    assert decision.code == "invalid_response"


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 520, 521, 524, 529])
def test_retried_statuses(status: int) -> None:
    decision, _ = classify_response(status, H(), envelope("boom", "server_error"))
    assert decision.action is Action.RETRY


@pytest.mark.parametrize("status", [400, 403, 404, 413, 422])
def test_failed_statuses_are_not_retried(status: int) -> None:
    decision, _ = classify_response(status, H(), envelope("bad input"))
    assert decision.action is Action.FAIL
    assert decision.message == f"HTTP {status}: bad input"


@pytest.mark.parametrize("status", [401, 402])
def test_account_problems_abort_the_run(status: int) -> None:
    decision, _ = classify_response(status, H(), envelope("Invalid API key provided."))
    assert decision.action is Action.ABORT


@pytest.mark.parametrize(
    ("status", "code", "refused"),
    [
        (404, "model_not_available", True),  # Together: a name it does not know
        (400, "model_not_available", True),  # Together: a dedicated-endpoint-only model
        (404, None, True),  # vLLM, OpenAI: the model does not exist
        (403, None, True),  # no access to the model (or, at Together, too long a request)
        (400, None, False),  # the request is wrong, not the model
        (422, None, False),
        (500, "model_not_available", False),  # retried, so not a refusal
    ],
)
def test_refusals_of_the_model_are_told_from_bad_requests(
    status: int, code: str | None, refused: bool
) -> None:
    decision, _ = classify_response(status, H(), envelope("no", code=code))
    assert refuses_model(status, decision) is refused


def test_429_is_rate_limited_with_type_as_code_and_retry_after() -> None:
    decision, _ = classify_response(
        429, H({"retry-after": "2"}), envelope("Request was rejected", "rate_limit")
    )
    assert decision == Decision(
        Action.RETRY, "rate_limit", "HTTP 429: Request was rejected", 2.0, rate_limited=True
    )


def test_52x_text_plain_is_retried_with_its_text() -> None:
    decision, parsed = classify_response(521, H({"content-type": "text/plain"}), b"error code: 521")
    assert parsed is None
    assert decision.action is Action.RETRY
    assert decision.code == "http_521"
    assert decision.message == "HTTP 521: error code: 521"


def test_nested_message_object_is_unwrapped() -> None:
    inner = {"message": "Input validation error", "type": "BadRequestError", "code": 400}
    decision, _ = classify_response(400, H(), envelope(inner))
    assert decision.message == "HTTP 400: Input validation error"


def test_error_code_preferred_over_type() -> None:
    decision, _ = classify_response(404, H(), envelope("no", code="model_not_available"))
    assert decision.code == "model_not_available"


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx.ReadTimeout("t"), "timeout"),
        (httpx.ConnectTimeout("t"), "timeout"),
        (httpx.PoolTimeout("t"), "timeout"),
        (httpx.ConnectError("refused"), "connection_error"),
        (httpx.ReadError("reset"), "connection_error"),
        (httpx.RemoteProtocolError("peer closed connection"), "connection_error"),
    ],
)
def test_transport_errors_are_retried(exc: Exception, code: str) -> None:
    decision = classify_exception(exc)
    assert decision.action is Action.RETRY
    assert decision.code == code


def test_local_protocol_error_is_not_retried() -> None:
    assert classify_exception(httpx.LocalProtocolError("bad header")).action is Action.FAIL


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "0"}, None),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "10000"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "x", "retry-after": "2"}, 2.0),
        (
            {
                "retry-after": "Wed, 25 Nov 2026 10:00:05 GMT",
                "date": "Wed, 25 Nov 2026 10:00:00 GMT",
            },
            5.0,
        ),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(H(headers)) == expected


def test_backoff_full_jitter_is_bounded_by_exponential_ceiling() -> None:
    backoff = Backoff(base=0.5, cap=8.0, rng=random.Random(1))
    retry = Decision(Action.RETRY, "http_500")
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        delays = [backoff.delay(attempt, retry) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # jitter spreads over the whole range


def test_backoff_honours_retry_after_with_small_jitter() -> None:
    backoff = Backoff(rng=random.Random(2))
    told = Decision(Action.RETRY, "rate_limit", retry_after=2.0, rate_limited=True)
    delays = [backoff.delay(1, told) for _ in range(100)]
    assert all(2.0 <= d <= 2.2 for d in delays)
    assert len(set(delays)) > 1
