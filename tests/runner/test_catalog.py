"""config/tiers.toml and config/models.toml: what the limiter, dry run and eval read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner import Catalog, ConfigError, Limits


def test_shipped_config_loads_and_answers() -> None:
    cat = Catalog.load()
    assert cat.tier_names() == ["free", "1", "2", "3", "4", "5"]
    llama = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
    assert cat.limits("1", llama) == Limits(600, 180_000)
    r1 = "deepseek-ai/DeepSeek-R1"
    assert cat.limits("1", r1) == Limits(3, 180_000)  # its class's own row; tpm from the tier
    assert cat.limits("5", r1).rpm == 1_200
    info = cat.model(r1)
    assert (info.price_input, info.price_output, info.reasoning) == (3.0, 7.0, "inline")
    assert info.cost(1_000_000, 1_000_000) == pytest.approx(10.0)
    assert cat.sim_accuracy(r1) == {"easy": 0.97, "medium": 0.9, "hard": 0.8}
    assert cat.sim_accuracy(llama) == {"easy": 0.92, "medium": 0.72, "hard": 0.42}


def test_unknown_model_gets_safe_defaults() -> None:
    info = Catalog.load().model("acme/new-model")
    assert not info.known
    assert info.cost(10, 10) is None
    assert info.reasoning == "auto"
    assert Catalog.load().limits("2", "acme/new-model") == Limits(1_800, 250_000)


def test_unknown_tier_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown tier '7'; known tiers: free, 1"):
        Catalog.load().limits("7", "m")


def write_config(tmp_path: Path, tiers: str, models: str) -> Path:
    (tmp_path / "tiers.toml").write_text(tiers)
    (tmp_path / "models.toml").write_text(models)
    return tmp_path


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    good_tiers = "[tiers.1]\nrpm = 60\ntpm = 1000\n"
    with pytest.raises(ConfigError, match=r"tiers.1.rpm must be positive"):
        Catalog.load(write_config(tmp_path, "[tiers.1]\nrpm = -1\ntpm = 5\n", ""))
    with pytest.raises(ConfigError, match="not valid TOML"):
        Catalog.load(write_config(tmp_path, "[tiers.1\n", ""))
    with pytest.raises(ConfigError, match="reasoning must be one of"):
        Catalog.load(write_config(tmp_path, good_tiers, '[models."m"]\nreasoning = "maybe"\n'))
    with pytest.raises(ConfigError, match="unknown class 'fast'"):
        Catalog.load(write_config(tmp_path, good_tiers, '[models."m"]\nclass = "fast"\n'))
    with pytest.raises(ConfigError, match="sim_accuracy must map"):
        Catalog.load(write_config(tmp_path, good_tiers, '[models."m"]\nsim_accuracy = {a = 2}\n'))
    with pytest.raises(ConfigError, match=r"\[sim.fast\]: the rows are sim.reasoning and"):
        Catalog.load(write_config(tmp_path, good_tiers, "[sim.fast]\neasy = 0.5\n"))
    with pytest.raises(ConfigError, match="missing"):
        Catalog.load(tmp_path / "nowhere")


def test_a_models_own_sim_accuracy_wins(tmp_path: Path) -> None:
    cat = Catalog.load(
        write_config(
            tmp_path,
            "[tiers.1]\nrpm = 60\ntpm = 1000\n",
            '[models."m"]\nreasoning = "inline"\nsim_accuracy = {easy = 0.5}\n'
            "[sim.reasoning]\neasy = 0.9\n",
        )
    )
    assert cat.sim_accuracy("m") == {"easy": 0.5}


def test_serverless_flag_is_read_and_checked(tmp_path: Path) -> None:
    catalog = Catalog.load()
    assert not catalog.model("deepseek-ai/DeepSeek-R1").serverless
    assert catalog.model("Qwen/Qwen3-235B-A22B-Thinking-2507").serverless
    assert catalog.model("some/unlisted-model").serverless  # unknown: assumed serverless
    reasoning = catalog.serverless_alternatives(reasoning=True)
    assert "Qwen/Qwen3-235B-A22B-Thinking-2507" in reasoning
    assert "deepseek-ai/DeepSeek-R1" not in reasoning
    assert "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo" in catalog.serverless_alternatives(False)
    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    models = config / "models.toml"
    text = models.read_text().replace("serverless = false   #", 'serverless = "no"  #', 1)
    models.write_text(text)
    with pytest.raises(ConfigError, match="serverless must be true or false"):
        Catalog.load(config)
