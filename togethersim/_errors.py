"""Error bodies in Together's wire format (API notes, sections 4 and 5).

Inference errors use the envelope
``{"id": "<request id>", "error": {"message", "type", "param": null, "code"}}``, among them
the two ``model_not_available`` refusals: 404 for a model Together does not know, 400 for
one it serves only on a dedicated endpoint;
Cloudflare's 52x errors are bare ``text/plain`` (``error code: 520``). 429 bodies come in
three kinds: ``rate_limit`` (global limits), ``model_rate_limit`` (a model's own limits) and
``dynamic_request_limited`` / ``dynamic_token_limited`` (dynamic mode; Together's wording
for these is not on record, so the message is ours).
"""

from __future__ import annotations

import json

RATE_LIMIT_DOCS = "https://docs.together.ai/docs/rate-limits"
MODELS_PAGE = "https://api.together.ai/models"
INVALID_API_KEY = (
    "Invalid API key provided. You can find your API key at "
    "https://api.together.ai/settings/api-keys."
)


def envelope(
    reply_id: str, message: str, type_: str = "invalid_request_error", code: str | None = None
) -> bytes:
    """Together's error envelope, encoded."""
    error = {"message": message, "type": type_, "param": None, "code": code}
    return json.dumps({"id": reply_id, "error": error}, separators=(",", ":")).encode()


def unknown_model(reply_id: str, model: str) -> bytes:
    """The 404 body for a model Together does not serve (its wording, recorded)."""
    message = (
        f"Unable to access model {model}. Please visit {MODELS_PAGE} to view the list of "
        "supported models."
    )
    return envelope(reply_id, message, code="model_not_available")


def dedicated_only(reply_id: str, model: str) -> bytes:
    """The 400 body for a model Together serves only on a dedicated endpoint (recorded)."""
    message = (
        f"Unable to access non-serverless model {model}. Please visit {MODELS_PAGE}/{model} "
        "to create and start a new dedicated endpoint for the model."
    )
    return envelope(reply_id, message, code="model_not_available")


def internal_error(reply_id: str) -> bytes:
    return envelope(reply_id, "Internal server error", "server_error")


def overloaded(reply_id: str) -> bytes:
    return envelope(reply_id, "Engine overloaded", "server_error")


def cloudflare(status: int) -> bytes:
    return f"error code: {status}".encode()


def format_rate(value: float) -> str:
    """A rate as Together prints it: ``10``, ``1``, ``0.1666666667`` (10 digits at most)."""
    if value == int(value):
        return str(int(value))
    return f"{value:.10f}".rstrip("0")


def rate_limited(reply_id: str, rpm: float | None, tpm: float | None) -> bytes:
    """The 429 body, with the limits filled in (``unlimited`` for one that is not set)."""
    requests = f"{format_rate(rpm)} RPM ({format_rate(rpm / 60)} QPS)" if rpm else "unlimited RPM"
    tokens = f"{format_rate(tpm)} TPM ({format_rate(tpm / 60)} TPS)" if tpm else "unlimited TPM"
    message = (
        f"Request was rejected due to request rate limiting. Your rate limits are {requests} "
        f"and {tokens}. See details: {RATE_LIMIT_DOCS}"
    )
    return envelope(reply_id, message, "rate_limit")


def model_rate_limited(reply_id: str, model: str, rpm: float | None, tpm: float | None) -> bytes:
    """The 429 body for a model with its own limits (Together prints queries as a float)."""
    queries = str(float(rpm)) if rpm else "unlimited"
    tokens = format_rate(tpm) if tpm else "unlimited"
    message = (
        f"You have reached the rate limit specific to this model {model}. The maximum rate "
        f"limit for this model is {queries} queries and {tokens} tokens per minute."
    )
    return envelope(reply_id, message, "model_rate_limit")


def dynamic_limited(
    reply_id: str, type_: str, dynamic_rpm: float | None, tpm: float | None
) -> bytes:
    """The 429 body in dynamic mode; ``type_`` is ``dynamic_request_limited`` or
    ``dynamic_token_limited``. Together's wording is not on record, so this one is ours."""
    if type_ == "dynamic_token_limited" and tpm:
        limit = f"{format_rate(tpm)} TPM ({format_rate(tpm / 60)} TPS)"
        what = "token"
    else:
        rpm = dynamic_rpm or 0.0
        limit = f"{format_rate(rpm)} RPM ({format_rate(rpm / 60)} QPS)"
        what = "request"
    message = (
        f"Request was rejected due to dynamic {what} rate limiting. Your current limit for "
        f"this model is {limit}; the dynamic request rate follows twice your recent "
        f"successful request rate. See details: {RATE_LIMIT_DOCS}"
    )
    return envelope(reply_id, message, type_)
