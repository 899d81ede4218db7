"""A faithful simulator of Together AI's inference API, on a real loopback HTTP server.

Use it in tests and demos instead of the network::

    with SimServer(SimConfig(faults=parse_faults("500=0.05"), seed=1)).run_in_thread() as url:
        ...  # point the client at url ("http://127.0.0.1:PORT/v1")

or, inside an event loop, ``await tg.start(server.serve)``. Replies are deterministic and
start with ``sim:<signature(endpoint, body)>`` so each can be matched to its request;
:meth:`SimServer.stats` counts answers per signature to expose duplicated work. Faults
(500, 503, 520, reset, truncate, slow, and for streams a cut, an error event or a missing
``[DONE]``) are drawn from a seeded RNG or forced per request with an ``x-sim-fault``
header; ``rpm``/``tpm`` enable Together-style per-second limits (with burst, token refunds,
per-model limits and optional dynamic limits, see :mod:`._ratelimit`) and
``overload_concurrency`` answers 503 above N requests in progress.

The request surface is Together's: ``stream`` (server-sent events with usage in either of
Together's two places, :mod:`._stream`), ``n`` choices, integer ``logprobs`` in Together's
or OpenAI's shape (:mod:`._logprobs`), ``tools``/``tool_choice`` (tool calls with arguments
that satisfy the tool's schema), and ``response_format`` JSON object, JSON Schema or regex
(:mod:`._inference`), each validated as Together does (:mod:`._request`). With an
:class:`AnswerKey` the simulated models take an eval at stated accuracies (:mod:`._answers`).
"""

from ._answers import AnswerKey, AnswerSpec
from ._config import ModelLimit, SimConfig, parse_latency, parse_model_limit
from ._faults import FaultRates, parse_faults
from ._inference import signature
from ._sample import REASONING_STYLES
from ._server import SimServer

__all__ = [
    "REASONING_STYLES",
    "AnswerKey",
    "AnswerSpec",
    "FaultRates",
    "ModelLimit",
    "SimConfig",
    "SimServer",
    "parse_faults",
    "parse_latency",
    "parse_model_limit",
    "signature",
]
