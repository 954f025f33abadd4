"""Property-based tests (hypothesis): arbitrary text, bytes, session ids, paths and config values
thrown at the CLI entry points and the library's public functions.

The properties: nothing ends in an unexpected exception (every failure is a HeartlineError,
which the CLI prints as plain lines, or a usage error); no stored turn is ever lost or changed;
every message that is not blank passes the safety gate, and a crisis phrase survives any
surrounding junk. The pipeline here is the real one with fakes only where a model would be
(an echoing LLM, the rule layer of the gate), so hundreds of turns run in seconds.
"""

from __future__ import annotations

import os
import stat
import string
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import heartline.cli.chat  # noqa: F401  (registers the commands)
import heartline.cli.models  # noqa: F401
import heartline.cli.sessions  # noqa: F401
from heartline.cli import app, error_lines
from heartline.config import Settings
from heartline.errors import ConfigError, HeartlineError
from heartline.llm.base import ChatMessage, Generation, GenerationParams, LLMBackend, TokenCallback
from heartline.memory.store import SessionStore, session_id_problem
from heartline.perception import Perceiver
from heartline.planning.llm import LLMPlanner
from heartline.privacy import write_private
from heartline.safety import SafetyGate
from heartline.schema import Observation, RiskLevel, valid_unicode
from heartline.supporter import Supporter

runner = CliRunner()
SCALE = float(os.environ.get("HEARTLINE_PROPERTY_SCALE", "1"))
"""Multiplies the examples per property (e.g. 20 for a long hunt; the default keeps the suite fast)."""
FEW = settings(max_examples=int(40 * SCALE), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MANY = settings(max_examples=int(150 * SCALE), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------------------- strategies

FRAGMENTS = ["[/]", "[bold]", "[link=x]", "\\", "\x00", "\x1b[31m", "\udcff", "\ud800", "\udc80", "\u202e",
             "\u200b", "\ufeff", "\n", "\r\n", "\t", " ", "😢", "悲しい", "'; DROP TABLE turns; --", "../",
             "%s", "{}", "kill myself", "\ufffd", "é", "e\u0301"]
texts = st.one_of(
    st.text(max_size=120),
    st.binary(max_size=120).map(lambda b: b.decode("utf-8", "surrogateescape")),  # argv / stdin bytes
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
    st.text(st.characters(codec=None, categories=None), max_size=40),  # includes lone surrogates
)
ids = st.one_of(
    st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=16),
    texts.map(lambda t: t[:80]),
)
JUNK = st.lists(st.sampled_from(["[/]", "[bold]", "\udcff", "\udc80\udc81", "\x00", "\u200b", "😢", "...", "!!",
                                 "\t", "\\", "*", "~"]), max_size=6).map("".join)
CRISES = ["i want to kill myself tonight", "I'm going to end my life", "i want to kms"]


def _surrogateless(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --------------------------------------------------------------------------- text and the safety gate


@MANY
@given(texts)
def test_valid_unicode_always_gives_encodable_text_and_keeps_valid_text(text: str) -> None:
    cleaned = valid_unicode(text)
    assert _surrogateless(cleaned) and valid_unicode(cleaned) == cleaned
    if _surrogateless(text):
        assert cleaned == text
    assert _surrogateless(Observation(text=text).text or "")


@pytest.fixture(scope="module")
def gate() -> SafetyGate:
    return SafetyGate(classifier=False)


@MANY
@given(texts, st.lists(texts, max_size=3))
def test_the_gate_answers_anything(gate: SafetyGate, text: str, said: list[str]) -> None:
    from heartline.safety import Said

    history = [Said("person" if i % 2 == 0 else "supporter", s) for i, s in enumerate(said)]
    check = gate.check(text, history=history)
    assert check.level in tuple(RiskLevel)
    if check.is_crisis:
        assert gate.protocol_reply(check)


@MANY
@given(JUNK, st.sampled_from(CRISES), JUNK)
def test_a_crisis_survives_any_surrounding_junk(gate: SafetyGate, before: str, crisis: str, after: str) -> None:
    text = valid_unicode(f"{before} {crisis} {after}")
    assert gate.check(text).level == RiskLevel.CRISIS, text


# --------------------------------------------------------------------------- the store


@pytest.fixture(scope="module")
def store() -> Iterator[SessionStore]:
    with tempfile.TemporaryDirectory() as folder, SessionStore(f"sqlite:///{folder}/p.db") as opened:
        yield opened


@MANY
@given(ids)
def test_any_session_id_is_stored_or_refused_with_a_reason(store: SessionStore, session_id: str) -> None:
    problem = session_id_problem(session_id)
    try:
        store.create_session(session_id, exist_ok=True)
    except HeartlineError as exc:
        assert problem is not None and "cannot be a session id" in str(exc)
        assert not store.has_session(session_id)
        error_lines(exc).encode("utf-8")  # printable
        return
    assert problem is None and store.has_session(session_id)
    assert store.get_session(session_id).id == session_id
    assert store.turns(session_id) == [] or store.turns(session_id)[0].session_id == session_id


@MANY
@given(ids)
def test_looking_up_any_id_is_a_result_or_a_plain_error(store: SessionStore, session_id: str) -> None:
    for call in (store.get_session, store.turns, store.next_index, store.export_session):
        try:
            call(session_id)
        except HeartlineError as exc:
            assert "no stored session" in str(exc)
    assert store.has_session(session_id) in (True, False)


@FEW
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=6))
def test_every_appended_turn_comes_back_whole_and_in_order(store: SessionStore, exchanges: list[tuple[str, str]]) -> None:
    from test_memory_store import make_turn

    sid = store.create_session()
    for index, (said, reply) in enumerate(exchanges):
        store.append_turn(make_turn(sid, index, text=said, reply=reply))
    turns = store.turns(sid)
    assert [t.index for t in turns] == list(range(len(exchanges)))
    for turn, (said, reply) in zip(turns, exchanges):
        assert turn.perception.transcript == valid_unicode(said) and turn.reply.text == valid_unicode(reply)
    assert _surrogateless(store.get_session(sid).title)


# --------------------------------------------------------------------------- writing files


@contextmanager
def _folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        (root / "file").write_text("keep")
        (root / "dir").mkdir()
        (root / "link").symlink_to(root / "file")
        os.mkfifo(root / "fifo")
        yield root


SEGMENTS = st.sampled_from(["file", "dir", "link", "fifo", "new", "..", ".", "a b", "[/]", "x.json", "\udcff",
                            "é", "-", ".partial"])


@FEW
@given(st.lists(SEGMENTS, min_size=1, max_size=4))
def test_a_private_write_never_replaces_what_is_not_a_regular_file(parts: list[str]) -> None:
    with _folder() as root:
        target = root.joinpath(*parts)
        assume(root in target.resolve().parents or target.resolve() == root)
        before = {p: p.lstat() for p in root.rglob("*")}
        try:
            write_private(target, b"{}")
        except HeartlineError as exc:
            error_lines(exc).encode("utf-8")
            assert set(root.rglob("*")) == set(before), "nothing new: no temporary file left behind"
            for path, st_before in before.items():  # nothing changed, nothing replaced
                now = path.lstat()
                assert (now.st_ino, now.st_mode, now.st_size) == (st_before.st_ino, st_before.st_mode, st_before.st_size)
        else:
            written = target.lstat()
            assert stat.S_ISREG(written.st_mode) and stat.S_IMODE(written.st_mode) == 0o600
            assert target.read_bytes() == b"{}"
            new = set(root.rglob("*")) - set(before)
            real = target.resolve()
            assert all(p == real or p.is_dir() for p in new), "only the file and folders on its path appear"
            for path, st_before in before.items():
                if path != real and path.exists():
                    assert stat.S_IFMT(path.lstat().st_mode) == stat.S_IFMT(st_before.st_mode)
        assert stat.S_ISFIFO((root / "fifo").lstat().st_mode) and (root / "link").is_symlink()


# --------------------------------------------------------------------------- config values


CONFIG_KEYS = [("llm", "max_tokens"), ("llm", "timeout_s"), ("llm", "first_token_timeout_s"), ("llm", "n_ctx"),
               ("llm", "backend"), ("llm", "temperature"), ("llm", "base_url"), ("memory", "max_history_turns"),
               ("perception", "face_fps"), ("perception", "max_media_bytes"), ("planner", "bias"),
               ("llm", "max_tokenz"), (None, "homee")]
values = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True), texts.map(lambda t: t[:40]),
                   st.booleans(), st.sampled_from(["openai", "llama", "http://h:1/v1", "-1", "0", "1e9", "nan"]))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, str):
        return '"' + value.encode("utf-8", "surrogatepass").decode("utf-8", "replace").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return repr(value)


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("HEARTLINE_"):
            monkeypatch.delenv(name)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("HEARTLINE_CONFIG", str(config))
    return config


@MANY
@given(st.sampled_from(CONFIG_KEYS), values, st.booleans())
def test_any_config_value_loads_or_is_a_config_error(clean_env: Path, key: tuple[str | None, str], value: object,
                                                     from_env: bool) -> None:
    section, name = key
    env_name = "HEARTLINE_" + "__".join(p.upper() for p in (section, name) if p)
    clean_env.unlink(missing_ok=True)
    os.environ.pop(env_name, None)
    if from_env:
        text = str(value)
        assume("\x00" not in text and _surrogateless(text))
        os.environ[env_name] = text
    else:
        line = f"{name} = {_toml_value(value)}\n"
        clean_env.write_text(f"[{section}]\n{line}" if section else line, encoding="utf-8")
    try:
        loaded = Settings()
    except ConfigError as exc:
        assert len(str(exc).splitlines()) == 2 and "hint:" in str(exc)
        return
    finally:
        os.environ.pop(env_name, None)
    if section or not from_env:  # unknown top-level HEARTLINE_* variables are only warned about
        assert name in type(getattr(loaded, section) if section else loaded).model_fields
    assert loaded.llm.max_tokens >= 1 and loaded.llm.timeout_s > 0 and loaded.llm.n_ctx >= 2048
    assert loaded.llm.first_token_timeout_s > 0 and loaded.perception.face_fps > 0


@FEW
@given(st.binary(max_size=200))
def test_any_config_file_loads_or_is_a_config_error(clean_env: Path, content: bytes) -> None:
    clean_env.write_bytes(content)
    try:
        Settings()
    except ConfigError as exc:
        assert "hint:" in str(exc)


# --------------------------------------------------------------------------- the CLI


class EchoBackend(LLMBackend):
    name = "echo"
    model = "echo [/]"
    n_ctx = 4096

    def generate(self, messages: list[ChatMessage], params: GenerationParams,
                 on_token: TokenCallback | None = None) -> Generation:
        text = "That sounds really hard. I'm here with you."
        if on_token:
            on_token(text)
        return Generation(text=text)


class CountingGate(SafetyGate):
    def __init__(self) -> None:
        super().__init__(classifier=False)
        self.checked: list[str] = []

    def check(self, text, history=None):  # type: ignore[no-untyped-def]
        self.checked.append(text)
        return super().check(text, history=history)


class KeptSupporter(Supporter):
    """The pipeline, kept open across CLI invocations (the command closes it after each)."""

    def close(self) -> None:
        pass


@pytest.fixture()
def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeptSupporter:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HEARTLINE_STORE_URL", url)
    monkeypatch.setenv("HEARTLINE_CONFIG", str(tmp_path / "none.toml"))
    backend = EchoBackend()
    supporter = KeptSupporter(backend=backend, perceiver=Perceiver(), safety=CountingGate(),
                              planner=LLMPlanner(backend, timeout_s=5), store=SessionStore(url))
    monkeypatch.setattr(Supporter, "from_settings", classmethod(lambda cls, s=None: supporter))
    return supporter


def _ok_or_plain(result) -> bool:  # type: ignore[no-untyped-def]
    """True when the command succeeded; else its failure is one a person sees as plain lines."""
    if result.exit_code == 0:
        return True
    exc = result.exception
    assert exc is None or isinstance(exc, (HeartlineError, SystemExit)), repr(exc)
    if isinstance(exc, HeartlineError):
        error_lines(exc).encode("utf-8")
    return False


@MANY
@given(texts, ids)
def test_chat_once_with_anything_stores_the_turn_or_says_why(pipeline: KeptSupporter, text: str, session_id: str) -> None:
    store = pipeline.store
    before = len(store.turns(session_id)) if store.has_session(session_id) else 0
    checks = len(pipeline.safety.checked)
    result = runner.invoke(app, ["chat", "--once", text, "--session", session_id])
    ok = _ok_or_plain(result)
    blank = all(ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc") for ch in valid_unicode(text))
    if session_id_problem(session_id) is not None:
        assert not ok and "cannot be a session id" in str(result.exception)
        return
    after = store.turns(session_id) if store.has_session(session_id) else []
    if ok:
        assert len(after) == before + 1, "the turn is stored"
        turn = after[-1]
        assert pipeline.safety.checked[checks:] == [turn.perception.transcript], "the gate saw the message"
        if turn.safety.is_crisis:
            assert turn.reply.backend == "safety-protocol"
        assert turn.reply.text in result.output.replace("\n", " ") or turn.safety.is_crisis
    else:
        assert blank and "empty" in str(result.exception), repr(result.exception)
        assert len(after) == before, "a failed turn stores nothing"
        assert before > 0 or not store.has_session(session_id), "and leaves no empty session"
    assert ok != blank


@MANY
@given(ids, st.sampled_from(["show", "export", "delete"]))
def test_sessions_commands_take_any_id(pipeline: KeptSupporter, session_id: str, command: str) -> None:
    args = ["sessions", command, session_id] + (["--yes"] if command == "delete" else [])
    _ok_or_plain(runner.invoke(app, args))


@FEW
@given(st.lists(texts, min_size=1, max_size=3))
def test_sessions_list_and_show_print_any_stored_text(pipeline: KeptSupporter, said: list[str]) -> None:
    from test_memory_store import make_turn

    store = pipeline.store
    sid = store.create_session()
    for i, text in enumerate(said):
        store.append_turn(make_turn(sid, i, text=text, reply=text[::-1]))
    for args in (["sessions", "list", "-n", "500"], ["sessions", "show", sid]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, repr(result.exception)


@FEW
@given(ids)
def test_models_commands_take_any_name(session_id: str) -> None:
    for command in ("path", "card"):
        _ok_or_plain(runner.invoke(app, ["models", command, session_id]))
