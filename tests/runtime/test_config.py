"""Config loading: YAML + overrides into typed dataclasses, and the errors for bad input."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from llmrl.runtime.config import ConfigError, config_to_dict, load_config, save_config


@dataclass
class PPO:
    lr: float = 1e-6
    epochs: int = 4
    clip_eps: float = 0.2
    normalize: bool = True


@dataclass
class Model:
    name: str = "smollm2"
    lora_rank: int | None = None
    hidden: tuple[int, ...] = (1024, 1024)


@dataclass
class TrainConfig:
    seed: int = 1
    env: str = "BabyAI-GoToLocal-v0"
    scoring: Literal["shared", "naive"] = "shared"
    total_frames: int = 1000
    ppo: PPO = field(default_factory=PPO)
    model: Model = field(default_factory=lambda: Model(name="custom", lora_rank=8))
    tags: list[str] = field(default_factory=list)
    pair: tuple[int, float] = (1, 0.5)
    extra: PPO | None = None  # an optional section

    def __post_init__(self) -> None:
        if self.total_frames <= 0:
            raise ValueError(f"total_frames must be positive, got {self.total_frames}")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "preset.yaml"
    path.write_text(text)
    return path


def test_yaml_then_overrides_with_types_coerced(tmp_path):
    path = write(tmp_path, "seed: 3\nppo:\n  lr: 1e-5\n  epochs: 2\ntags: [a, b]\n")
    cfg = load_config(
        TrainConfig,
        path,
        ["ppo.epochs=8", "model.lora_rank=null", "scoring=naive", "env=on", "total_frames=2e3", "pair=[2, 3]"],
    )
    assert cfg.seed == 3
    assert cfg.ppo.lr == 1e-5 and isinstance(cfg.ppo.lr, float)  # PyYAML reads 1e-5 as a string
    assert cfg.ppo.epochs == 8 and cfg.ppo.clip_eps == 0.2
    assert cfg.model.lora_rank is None
    assert cfg.model.name == "custom"  # a partial section keeps the field's own default section
    assert cfg.scoring == "naive"
    assert cfg.env == "on"  # a str field keeps the text, YAML would have made it True
    assert cfg.total_frames == 2000 and isinstance(cfg.total_frames, int)
    assert cfg.pair == (2, 3.0) and isinstance(cfg.pair[1], float)
    assert cfg.tags == ["a", "b"]


def test_optional_section_set_by_file_or_dotted_override(tmp_path):
    cfg = load_config(TrainConfig, write(tmp_path, "extra:\n  epochs: 2\n"), ["extra.lr=0.5"])
    assert cfg.extra == PPO(lr=0.5, epochs=2)
    assert load_config(TrainConfig, None, ["extra.epochs=3"]).extra == PPO(epochs=3)
    assert load_config(TrainConfig).extra is None
    with pytest.raises(ConfigError, match="'seed' is a setting of type int, not a section"):
        load_config(TrainConfig, None, ["seed.x=1"])


def test_defaults_without_file():
    assert load_config(TrainConfig) == TrainConfig()


def test_save_then_load_round_trip(tmp_path):
    cfg = load_config(TrainConfig, None, ["ppo.lr=0.001", "tags=[x]"])
    path = save_config(cfg, tmp_path / "config.yaml")
    assert load_config(TrainConfig, path) == cfg
    assert config_to_dict(cfg)["model"]["hidden"] == [1024, 1024]


@pytest.mark.parametrize(
    ("yaml_text", "overrides", "expected"),
    [
        (
            "sed: 3\n",
            [],
            r"unknown key 'sed' in config \(did you mean 'seed'\?\).*valid keys of TrainConfig: seed, env",
        ),
        ("", ["ppo.lrr=1"], r"unknown key 'ppo.lrr'.*did you mean 'lr'.*valid keys of PPO: lr, epochs"),
        ("ppo:\n  epoch: 3\n", [], r"unknown key 'ppo.epoch'"),
        ("", ["ppo.epochs=many"], r"'ppo.epochs' = 'many' \(str\) is not a valid int"),
        ("", ["ppo.epochs=2.5"], r"'ppo.epochs' = 2.5 \(float\) is not a valid int"),
        ("", ["ppo.normalize=1"], r"'ppo.normalize' = 1 \(int\) is not a valid bool"),
        ("", ["scoring=fast"], r"'scoring' = 'fast' is not one of 'shared', 'naive'"),
        ("", ["pair=[1]"], r"'pair' = \[1\] must have exactly 2 items"),
        ("", ["tags=abc"], r"'tags' = 'abc' \(str\) is not a valid list\[str\]"),
        ("", ["seed"], r"must look like key=value"),
        ("", ["seed.x=1"], r"'seed' is a setting of type int, not a section"),
        ("", ["total_frames=0"], r"invalid TrainConfig config: total_frames must be positive"),
        ("env: 5\n", [], r"'env' = 5 \(int\) is not a valid str \(quote it"),
        ("[1, 2]\n", [], r"must hold a mapping"),
        ("ppo: 3\n", [], r"ppo must be a mapping"),
    ],
)
def test_bad_input_names_what_and_what_is_accepted(tmp_path, yaml_text, overrides, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(TrainConfig, write(tmp_path, yaml_text), overrides)


def test_missing_file_and_required_field(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(TrainConfig, tmp_path / "nope.yaml")

    @dataclass
    class Needs:
        model: str

    with pytest.raises(ConfigError, match="missing required key 'model'"):
        load_config(Needs)
    assert load_config(Needs, None, ["model=x"]).model == "x"
