"""What a person sees when something goes wrong on the command line: one or two plain lines
and a non-zero exit, a traceback only with --debug or HEARTLINE_DEBUG=1; undecodable input
bytes never stop the safety gate."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from heartline import cli
from heartline.cli import error_lines
from heartline.errors import HeartlineError, ModelError
from heartline.memory.store import SessionStore

BROKEN_CRISIS = b"i want to kill myself tonight \xe2\x80"
"""A crisis message ending in a cut UTF-8 sequence, as a terminal may pass it."""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    """A dead OpenAI-compatible backend (no model needed), a scratch store, strict terminal
    encoding (as under an en_US.UTF-8 locale, where Python does not escape bad bytes)."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("HEARTLINE_")}
    values.update({
        "HEARTLINE_STORE_URL": f"sqlite:///{tmp_path / 'sessions.db'}",
        "HEARTLINE_CONFIG": str(tmp_path / "config.toml"),
        "HEARTLINE_LLM__BACKEND": "openai",
        "HEARTLINE_LLM__BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1",
        "PYTHONIOENCODING": "utf-8:strict",
    })
    if "HEARTLINE_HOME" in os.environ:
        values["HEARTLINE_HOME"] = os.environ["HEARTLINE_HOME"]
    return values


def _run(args: list[str | bytes], env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable.encode(), b"-m", b"heartline",
                           *(a if isinstance(a, bytes) else a.encode() for a in args)],
                          input=stdin, capture_output=True, env=env, timeout=600)


def _plain_error(result: subprocess.CompletedProcess) -> list[str]:
    """The error lines of a failed command, asserting they are plain (no traceback)."""
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode != 0
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("WARNING", "  hint: retrain",
                                                                                        "Loading models"))]
    assert lines and lines[0].startswith("error: "), err
    return lines


# --------------------------------------------------------------------------- invalid UTF-8


def test_invalid_utf8_in_a_message_still_reaches_the_safety_gate(env: dict[str, str]) -> None:
    result = _run(["chat", "--once", BROKEN_CRISIS, "--session", "u8"], env)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"risk level: crisis" in result.stdout
    [turn] = SessionStore(env["HEARTLINE_STORE_URL"]).turns("u8")
    assert turn.safety.level == "crisis" and turn.observation.text.endswith("tonight \ufffd")


def test_invalid_utf8_in_the_interactive_loop_is_answered(env: dict[str, str]) -> None:
    result = _run(["chat", "--session", "loop"], env, stdin=BROKEN_CRISIS + b"\n/quit\n")
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"risk level: crisis" in result.stdout and b"Traceback" not in result.stderr
    assert [t.safety.level for t in SessionStore(env["HEARTLINE_STORE_URL"]).turns("loop")] == ["crisis"]


def test_an_undecodable_session_id_is_a_plain_error(env: dict[str, str]) -> None:
    lines = _plain_error(_run(["chat", "--session", b"ab\xff", "--once", "hello"], env))
    assert "cannot be a session id" in lines[0] and "ab\\udcff" in lines[0]
    lines = _plain_error(_run(["sessions", "show", b"ab\xff"], env))
    assert lines[0] == "error: no stored session 'ab\\udcff'"


# --------------------------------------------------------------------------- one plain line


def test_a_malformed_config_is_two_plain_lines_and_debug_shows_the_traceback(env: dict[str, str]) -> None:
    Path(env["HEARTLINE_CONFIG"]).write_text("[llm\nbackend = 'openai'\n")
    lines = _plain_error(_run(["sessions", "list"], env))
    assert "is not valid TOML" in lines[0] and lines[1].strip().startswith("hint:") and len(lines) == 2
    debug = _run(["--debug", "sessions", "list"], env)
    assert debug.returncode != 0 and b"Traceback" in debug.stderr
    debug_env = _run(["sessions", "list"], {**env, "HEARTLINE_DEBUG": "1"})
    assert b"Traceback" in debug_env.stderr


def test_bad_values_from_the_environment_and_options_are_plain_errors(env: dict[str, str]) -> None:
    lines = _plain_error(_run(["sessions", "list"], {**env, "HEARTLINE_LLM__TIMEOUT_S": "abc"}))
    assert "llm.timeout_s = 'abc'" in lines[0] and "HEARTLINE_LLM__TIMEOUT_S" in lines[1]
    lines = _plain_error(_run(["chat", "--backend", "gpt", "--once", "hi"], env))
    assert "llm.backend = 'gpt'" in lines[0]


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["heartline", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    return int(exit_.value.code or 0)


def test_an_unexpected_error_is_one_line_and_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    import heartline.cli.sessions as sessions_cli

    monkeypatch.delenv("HEARTLINE_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_debug", False)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("something [/] broke\nsecond line")

    monkeypatch.setattr(sessions_cli, "_store", broken)
    assert _main(monkeypatch, "sessions", "list") == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "error: unexpected RuntimeError: something [/] broke"
    assert "--debug" in err.splitlines()[1] and "Traceback" not in err


def test_error_messages_with_markup_are_printed_as_they_are(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.setenv("HEARTLINE_STORE_URL", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("HEARTLINE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setattr(cli, "_debug", False)
    assert _main(monkeypatch, "sessions", "show", "[bold]x[/]") == cli.EXIT_ERROR
    assert capsys.readouterr().err.splitlines()[0] == "error: no stored session '[bold]x[/]'"


def test_model_loading_errors_point_at_verify_and_fetch() -> None:
    from safetensors import SafetensorError

    for exc in (SafetensorError("Error while deserializing header: HeaderTooLarge"),
                ModelError("/x/model.safetensors: not a readable safetensors file")):
        message, hint = error_lines(exc).split("\n", 1)
        assert "heartline models verify" in hint and "--force" in hint
    assert error_lines(HeartlineError("plain", hint="do this")) == "plain\n  hint: do this"
    assert error_lines(OSError(28, "No space left on device", "/x")).startswith("No space left on device (/x)")
    assert "\\udcff" in error_lines(HeartlineError("id \udcff"))
