"""The face hands the simulator config/models.toml's accuracy tables, their one home."""

from __future__ import annotations

from fanout._target import EvalEndpoint, Target
from runner import Catalog

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
R1 = "deepseek-ai/DeepSeek-R1"
HYBRID = "deepseek-ai/DeepSeek-V3.1"  # reasoning "auto": the simulator decides


def test_a_simulated_eval_takes_every_accuracy_from_the_catalog() -> None:
    catalog = Catalog.load()
    endpoint = EvalEndpoint.for_models(Target("sim"), [LLAMA, R1, HYBRID, "acme/new"], catalog)
    assert endpoint.accuracy == {
        LLAMA: catalog.sim_rows["direct"],
        R1: catalog.sim_rows["reasoning"],
    }
    assert endpoint.styles == {LLAMA: "none", R1: "inline"}
    # The rows for the models the catalog leaves to the simulator (auto, unknown).
    assert endpoint.default_accuracy == catalog.sim_rows
    assert set(endpoint.default_accuracy) == {"reasoning", "direct"}


def test_a_real_target_gets_no_tables() -> None:
    endpoint = EvalEndpoint.for_models(Target("http://x/v1"), [LLAMA], Catalog.load())
    assert (endpoint.accuracy, endpoint.styles, endpoint.default_accuracy) == ({}, {}, {})
