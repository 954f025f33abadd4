"""Private by default: the home directory, the session store and exports are the owner's alone.

Conversations about health are written only to files readable by their owner (0600), in
directories only the owner can enter (0700). `write_private` writes a file atomically and never
replaces anything that is not a regular file (a device such as /dev/null, a symbolic link, a
directory, a pipe): what a person asked to keep private must not end up somewhere else.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from heartline.errors import HeartlineError

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def shown(value: object) -> str:
    """`value` as text that can always be printed: undecodable bytes (lone surrogates) escaped."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _owned(st: os.stat_result) -> bool:
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def tighten(path: Path) -> None:
    """Remove group and other permissions from `path` when it is ours and grants any. Only
    regular files and folders: never a device, a pipe or a socket (no-op on Windows and on
    files owned by someone else)."""
    if os.name != "posix":
        return
    try:
        st = path.stat()
    except OSError:
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return
    if _owned(st) and stat.S_IMODE(st.st_mode) & 0o077:
        try:
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077)
            log.info("made %s private (owner only)", path)
        except OSError as exc:
            log.warning("could not make %s private: %s", path, exc)


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if missing, the last one owner-only, and make it private
    if it already exists with group or other access. Returns `path`."""
    try:
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    except OSError as exc:
        raise HeartlineError(
            f"cannot create the folder {shown(path)}: {_reason(exc)}",
            hint="set HEARTLINE_HOME to a writable folder",
        ) from exc
    tighten(path)
    return path


def check_writable_target(path: Path) -> None:
    """HeartlineError unless `path` is missing or an ordinary file that may be replaced."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    except NotADirectoryError as exc:
        raise _file_in_the_way(path) from exc
    except OSError as exc:
        raise HeartlineError(f"cannot write {shown(path)}: {_reason(exc)}", hint="choose another path") from exc
    if stat.S_ISLNK(st.st_mode):
        raise HeartlineError(
            f"{shown(path)} is a symbolic link; refusing to replace it",
            hint="give the path of a regular file (the link's target, or a new name)",
        )
    if stat.S_ISDIR(st.st_mode):
        raise HeartlineError(
            f"{shown(path)} is a folder",
            hint=f"give a file name inside it, e.g. {shown(path / 'session.json')}",
        )
    if not stat.S_ISREG(st.st_mode):
        raise HeartlineError(
            f"{shown(path)} is not a regular file (a device, pipe or socket); refusing to replace it",
            hint="give the path of a regular file; leave out --out to print to the terminal",
        )


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically as an owner-only (0600) file.

    Refuses (HeartlineError, nothing written) when `path` is a symbolic link, a folder, a device,
    a pipe or a socket, or lies under a file. The data goes to a temporary file next to `path`,
    fsync'd and renamed over it; on any failure the temporary file is removed, so nothing is
    left half-written.
    """
    if path.name in ("", ".", ".."):
        raise HeartlineError(f"{shown(path)} does not name a file", hint="give a file name, e.g. session.json")
    check_writable_target(path)
    folder = path.parent
    created = [p for p in (folder, *folder.parents) if not os.path.lexists(p)]
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise _file_in_the_way(path) from exc
        except OSError as exc:
            raise HeartlineError(f"cannot create the folder {shown(folder)}: {_reason(exc)}",
                                 hint="choose another path") from exc
        _write_in(folder, path, data)
    except BaseException:
        for new in created:  # deepest first: a failed write leaves no folder behind either
            try:
                new.rmdir()
            except OSError:
                pass
        raise


def _write_in(folder: Path, path: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".partial")
    except OSError as exc:
        raise HeartlineError(f"cannot write in {shown(folder)}: {_reason(exc)}", hint="choose another path") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), PRIVATE_FILE)  # mkstemp's mode already; keep it explicit
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        check_writable_target(path)  # it may have changed while we wrote
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise HeartlineError(f"cannot write {shown(path)}: {_reason(exc)}",
                                 hint="check free disk space and permissions, or choose another path") from exc
        raise


def _file_in_the_way(path: Path) -> HeartlineError:
    return HeartlineError(
        f"cannot write {shown(path)}: part of its folder path is a file, not a folder",
        hint="choose a path whose folders exist or can be created",
    )


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


__all__ = ["check_writable_target", "private_dir", "shown", "tighten", "write_private"]
