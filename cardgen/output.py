"""Writing output files safely: only regular files are replaced, always through a unique
temporary file in the same folder and a rename, and the temporary file is removed on
every way out that Python sees (errors, Ctrl-C, SIGTERM once the CLI turns it into an
exception)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cardgen.errors import CardgenError

__all__ = ["OutputError", "Staged", "check_target", "make_folder", "scratch", "stage",
           "write_atomic"]


class OutputError(CardgenError, OSError):
    """An output path that cannot or must not be written; one line naming it. An OSError
    too, for callers that handle file errors as such."""


def _umask() -> int:
    # os.umask can only be read by setting it; done once at import, before any threads.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()

_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_target(path: str | Path) -> None:
    """OutputError unless `path` is absent or a regular file (which may be replaced)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{path}: {exc.strerror or exc}") from None
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise OutputError(f"{path}: exists and is {kind}; refusing to replace it "
                      f"(remove it or choose another path)")


def make_folder(path: str | Path) -> None:
    """Create the folder `path` (and its parents) unless it exists; OutputError naming the
    path when it cannot be (a file in the way, a read-only parent)."""
    folder = Path(path)
    if folder.is_dir():
        return
    if folder.exists() or folder.is_symlink():
        raise OutputError(f"{folder}: not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = exc.filename or folder
        raise OutputError(f"{where}: cannot create the folder: {exc.strerror or exc}") from None


class Staged:
    """A complete file written beside its target under a unique temporary name; `commit`
    renames it into place, `discard` removes it."""

    def __init__(self, target: Path, tmp: str, size: int) -> None:
        self.target, self.tmp, self.size = target, tmp, size

    def commit(self) -> None:
        check_target(self.target)  # it may have appeared since
        try:
            os.replace(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise OutputError(f"{self.target}: cannot write: {exc.strerror or exc}") from None
        self.tmp = ""

    def discard(self) -> None:
        if self.tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)
            self.tmp = ""


def _temp_beside(target: Path, suffix: str) -> tuple[int, str]:
    """A new hidden file beside `target` (fd, name); OutputError naming the target."""
    try:
        return tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name[:80]}.",
                                suffix=suffix)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None


@contextlib.contextmanager
def scratch(path: str | Path, suffix: str) -> Iterator[str]:
    """The name of a new, empty hidden file beside `path`, for work on the way to it;
    removed on every way out (left only where it cannot be removed)."""
    fd, tmp = _temp_beside(Path(path), suffix)
    os.close(fd)
    try:
        yield tmp
    finally:
        with contextlib.suppress(OSError):  # a file left is less than a lost error
            os.unlink(tmp)


@contextlib.contextmanager
def stage(path: str | Path) -> Iterator[tuple[IO[bytes], list[Staged]]]:
    """Write `path`'s new content to the yielded file; on a clean exit the list holds the
    Staged file (not yet in place). On any exception the temporary file is removed."""
    target = Path(path)
    check_target(target)
    fd, tmp = _temp_beside(target, ".tmp")
    result: list[Staged] = []
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh, result
            size = fh.tell()
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; an output is an ordinary file
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # a full disk, a file size limit, an I/O error
            raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None
        raise
    result.append(Staged(target, tmp, size))


def write_atomic(path: str | Path, data: bytes) -> int:
    """Replace `path` with `data` atomically; the bytes written."""
    with stage(path) as (fh, staged):
        fh.write(data)
    staged[0].commit()
    return staged[0].size
