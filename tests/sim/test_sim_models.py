"""Models Together refuses whatever the request: a name it does not know (404) and one it
serves only on a dedicated endpoint (400), both ``model_not_available``, in its words."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from togethersim import SimConfig, SimServer

GOOD = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
TYPO = "meta-llama/Llama-3.3-70B-Instruct-Turbx"
DEDICATED = "Qwen/Qwen3-VL-8B-Instruct"


def chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], **extra}


@pytest.fixture
def sim() -> Iterator[tuple[SimServer, httpx.Client]]:
    config = SimConfig(
        seed=2, rpm=120, unknown_models={TYPO}, dedicated_models=frozenset({DEDICATED})
    )
    server = SimServer(config)
    with server.run_in_thread() as url, httpx.Client(base_url=url, timeout=10) as client:
        yield server, client


def test_an_unknown_model_is_404_model_not_available(sim: tuple[SimServer, httpx.Client]) -> None:
    server, client = sim
    r = client.post("/chat/completions", json=chat(TYPO))
    assert r.status_code == 404
    body = r.json()
    assert body["id"].startswith("sim-")
    assert body["error"] == {
        "message": f"Unable to access model {TYPO}. Please visit "
        "https://api.together.ai/models to view the list of supported models.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_available",
    }
    r = client.post("/completions", json={"model": TYPO, "prompt": "Hi", "stream": True})
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert server.stats()["by_status"] == {"404": 2}


def test_a_dedicated_only_model_is_400_model_not_available(
    sim: tuple[SimServer, httpx.Client],
) -> None:
    _, client = sim
    r = client.post("/chat/completions", json=chat(DEDICATED))
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": f"Unable to access non-serverless model {DEDICATED}. Please visit "
        f"https://api.together.ai/models/{DEDICATED} to create and start a new dedicated "
        "endpoint for the model.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_available",
    }


def test_refusals_draw_no_fault_and_spend_no_rate_limit(
    sim: tuple[SimServer, httpx.Client],
) -> None:
    server, client = sim
    for _ in range(10):  # the bucket holds 4 requests (120 rpm, 2 s burst)
        r = client.post("/chat/completions", json=chat(TYPO), headers={"x-sim-fault": "500"})
        assert r.status_code == 404
        assert "x-ratelimit-remaining" not in r.headers
    r = client.post("/chat/completions", json=chat(TYPO.replace("Turbx", "Turbo")))
    assert r.status_code == 200
    assert float(r.headers["x-ratelimit-remaining"]) >= 3
    assert server.stats()["by_fault"] == {}


def test_a_bad_body_is_still_400_before_the_model_is_looked_at(
    sim: tuple[SimServer, httpx.Client],
) -> None:
    _, client = sim
    r = client.post("/chat/completions", json={"model": TYPO, "messages": "nope"})
    assert r.status_code == 400 and r.json()["error"]["code"] is None


def test_other_models_are_served(sim: tuple[SimServer, httpx.Client]) -> None:
    server, client = sim
    r = client.post("/chat/completions", json=chat(GOOD))
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"].startswith("sim:")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unknown_models": "org/model"}, "unknown_models must be a collection of model names"),
        ({"dedicated_models": {""}}, "dedicated_models must be a collection of model names"),
        ({"unknown_models": {"a"}, "dedicated_models": {"a"}}, "both unknown and dedicated"),
        ({"served_models": "org/model"}, "served_models must be a collection of model names"),
    ],
)
def test_model_lists_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig(**kwargs)
