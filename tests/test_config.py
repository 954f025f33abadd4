"""The one typed config: ranges, unknown names, malformed TOML and environment values all give
one plain ConfigError naming the setting and where to fix it; command-line overrides are
checked the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from heartline.cli._options import settings_with
from heartline.config import LLMSettings, Settings
from heartline.errors import ConfigError


@pytest.fixture()
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("HEARTLINE_CONFIG", str(path))
    for name in ("HEARTLINE_LLM__BACKEND", "HEARTLINE_LLM__BASE_URL", "HEARTLINE_HOME", "HEARTLINE_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    return path


def _error(config_file: Path, toml: str) -> ConfigError:
    config_file.write_text(toml)
    with pytest.raises(ConfigError) as err:
        Settings()
    return err.value


def test_malformed_toml_is_one_plain_error_naming_the_file(config_file: Path) -> None:
    err = _error(config_file, "llm = [\n")
    assert str(err).splitlines()[0].startswith(f"the config file {config_file} is not valid TOML")
    assert "HEARTLINE_CONFIG" in (err.hint or "")


@pytest.mark.parametrize(("toml", "expected"), [
    ('[llm]\nbackend = "gpt"\n', "llm.backend = 'gpt': input should be 'llama' or 'openai'"),
    ("[llm]\nmax_tokens = -5\n", "llm.max_tokens = -5: input should be greater than or equal to 1"),
    ("[llm]\ntimeout_s = -1\n", "llm.timeout_s = -1: input should be greater than 0"),
    ("[llm]\nfirst_token_timeout_s = 0\n", "llm.first_token_timeout_s = 0: input should be greater than 0"),
    ("[llm]\nn_ctx = 64\n", "llm.n_ctx = 64: input should be greater than or equal to 2048"),
    ("[llm]\nmax_tokens = 3000\n", "max_tokens (3000) must be at most half of n_ctx (4096)"),
    ("[llm]\ntemperature = 9\n", "llm.temperature = 9: input should be less than or equal to 2"),
    ('[llm]\nbase_url = "localhost:8080"\n', "llm.base_url = 'localhost:8080': must start with http://"),
    ("[memory]\nmax_history_turns = -1\n", "memory.max_history_turns = -1"),
    ("[perception]\nface_fps = 0\n", "perception.face_fps = 0"),
    ("[perception]\nmax_media_bytes = 0\n", "perception.max_media_bytes = 0"),
    ("[perception]\nfusion_weights = {text = 1, nose = 2}\n", "perception.fusion_weights.nose"),
    ("[perception]\nfusion_weights = {text = -1}\n", "weights must be finite and at least 0"),
    ("[planner]\nbias_alpha = -0.5\n", "planner.bias_alpha = -0.5"),
])
def test_out_of_range_values_are_rejected_by_name(config_file: Path, toml: str, expected: str) -> None:
    err = _error(config_file, toml)
    assert expected in str(err)
    assert len(str(err).splitlines()) == 2, "one line for the problem, one for the fix"
    assert str(config_file) in (err.hint or "")


def test_several_problems_are_reported_together(config_file: Path) -> None:
    message = str(_error(config_file, "[llm]\nmax_tokens = -5\ntimeout_s = -1\nn_ctx = 64\n")).splitlines()[0]
    for name in ("llm.max_tokens", "llm.timeout_s", "llm.n_ctx"):
        assert name in message


@pytest.mark.parametrize(("toml", "name", "suggestion"), [
    ("[llm]\nmax_tokn = 5\n", "llm.max_tokn", "did you mean 'max_tokens'?"),
    ('homee = "/tmp/x"\n', "homee", "did you mean 'home'?"),
    ("[memroy]\nmax_history_turns = 3\n", "memroy", "did you mean 'memory'?"),
    ("[llm]\nzzz = 1\n", "llm.zzz", "known: backend, model"),
])
def test_unknown_keys_are_reported_by_name(config_file: Path, toml: str, name: str, suggestion: str) -> None:
    message = str(_error(config_file, toml))
    assert f"unknown setting '{name}'" in message and suggestion in message


def test_environment_values_are_checked_and_the_variable_is_named(
    config_file: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEARTLINE_LLM__TIMEOUT_S", "abc")
    with pytest.raises(ConfigError) as err:
        Settings()
    assert "llm.timeout_s = 'abc'" in str(err.value) and "HEARTLINE_LLM__TIMEOUT_S" in (err.value.hint or "")
    monkeypatch.delenv("HEARTLINE_LLM__TIMEOUT_S")
    monkeypatch.setenv("HEARTLINE_LLM__TYPO", "1")
    with pytest.raises(ConfigError, match="unknown setting 'llm.typo'"):
        Settings()
    monkeypatch.delenv("HEARTLINE_LLM__TYPO")
    monkeypatch.setenv("HEARTLINE_LLM", "{not json")
    with pytest.raises(ConfigError, match="cannot read the settings"):
        Settings()


def test_unrelated_heartline_variables_are_not_settings(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HEARTLINE_DEBUG", "HEARTLINE_CONFIG", "HEARTLINE_SHARED_DATA", "HEARTLINE_TEST_HEADS"):
        monkeypatch.setenv(name, "1" if name != "HEARTLINE_CONFIG" else str(config_file))
    assert Settings().llm.backend == "llama"


def test_a_valid_file_still_loads(config_file: Path) -> None:
    config_file.write_text('[llm]\nbackend = "openai"\nmax_tokens = 64\n[perception]\nfusion_weights = {text = 1.5}\n')
    settings = Settings()
    assert settings.llm.backend == "openai" and settings.llm.max_tokens == 64
    assert settings.perception.fusion_weights == {"text": 1.5}


def test_command_line_overrides_are_validated(config_file: Path) -> None:
    with pytest.raises(ConfigError) as err:
        settings_with(backend="gpt")
    assert "llm.backend = 'gpt'" in str(err.value) and "command-line" in (err.value.hint or "")
    with pytest.raises(ConfigError, match="planner.method = 'x'"):
        settings_with(planner="x")
    assert settings_with(backend="openai", base_url="http://h:1/v1").llm.base_url == "http://h:1/v1"


def test_keyword_arguments_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="llm.max_tokens"):
        Settings(llm={"max_tokens": 0})
    with pytest.raises(ValueError):
        LLMSettings(max_tokens=-5)


def test_a_misspelt_top_level_variable_is_warned_about(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    from heartline import config

    monkeypatch.setattr(config, "_warned", set())
    monkeypatch.setenv("HEARTLINE_HOMEE", "/tmp/x")
    monkeypatch.setenv("HEARTLINE_SHARED_DATA", "/tmp/y")
    with caplog.at_level("WARNING"):
        Settings()
    assert "unknown setting HEARTLINE_HOMEE is ignored (did you mean HEARTLINE_HOME?)" in caplog.text
    assert "SHARED_DATA" not in caplog.text
    caplog.clear()
    Settings()
    assert "HEARTLINE_HOMEE" not in caplog.text, "once per process"
