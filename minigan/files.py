"""Files that are never half-written and folders that one process writes at a time.

- ``atomic_write(path, data)``: the new content goes to a temporary file beside ``path``, then
  replaces it in one rename (``os.replace``): a crash, a full disk or Ctrl-C mid-write leaves
  the old file whole. ``write_json`` / ``read_json`` do the same for JSON objects.
- ``FolderLock(folder)``: an exclusive lock on ``folder/.lock`` (``flock``: the system releases
  it when the process ends, however it ends, kill -9 included); ``release()`` removes the file.
  A folder held by another process raises ``FolderInUse``, which carries the folder and the
  holder as attributes.

Every error names the file the user asked for, never the temporary one.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from typing import IO, Any

TEMP_SUFFIX = ".tmp"


def _named(e: OSError, path: str) -> OSError:
    return OSError(e.errno, e.strerror or str(e), path)


def atomic_write(
    path: str | os.PathLike[str], data: str | bytes | Callable[[IO[bytes]], Any], fsync: bool = False
) -> str:
    """Write ``data`` (text, bytes, or a function that writes to a binary file) to ``path``
    through a temporary file in the same folder and a rename. ``fsync``: flush to the disk
    before the rename (checkpoints). Returns ``path``; an OSError names ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as e:  # a read-only or missing folder
        raise _named(e, path) from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # as any other output file (mkstemp makes it 0600)
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise _named(e, path) from None
        raise
    return path


def remove_temporaries(folder: str | os.PathLike[str], names: tuple[str, ...] = ()) -> list[str]:
    """Remove what ``atomic_write`` left in ``folder`` when its process was killed mid-write
    (the files it was replacing are whole), and ``<name>.tmp`` for each of ``names`` (what a
    write aside left before ``atomic_write`` existed); returns the paths removed."""
    pattern = os.path.join(glob.escape(os.fspath(folder)), ".*" + TEMP_SUFFIX)
    removed = []
    for name in glob.glob(pattern) + [os.path.join(folder, n + TEMP_SUFFIX) for n in names]:
        if os.path.isfile(name):
            os.remove(name)
            removed.append(os.fspath(name))
    return removed


def json_ready(v: Any) -> Any:
    """``v`` with NumPy scalars and arrays as plain numbers and lists, non-finite floats as None."""
    if isinstance(v, dict):
        return {str(k): json_ready(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_ready(x) for x in v]
    if hasattr(v, "tolist"):  # numpy scalars and arrays
        return json_ready(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_json(path: str | os.PathLike[str], obj: Any) -> str:
    """``obj`` as JSON (indent 1) to ``path``, atomically."""
    return atomic_write(path, json.dumps(json_ready(obj), indent=1) + "\n")


def read_json(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The JSON object in ``path``; None if it is missing, unreadable or not an object."""
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


class FolderInUse(RuntimeError):
    """Another process holds the lock on ``folder``; ``holder`` is what it wrote there ("pid 123")."""

    def __init__(self, folder: str, holder: str = "") -> None:
        self.folder, self.holder = folder, holder
        super().__init__(f"{folder} is in use by another process{f' ({holder})' if holder else ''}")


class FolderLock:
    """An exclusive lock on ``folder/.lock`` for as long as it is held (a context manager, or
    ``release()``). ``wait``: seconds to wait for another holder (None: do not wait, raise
    ``FolderInUse`` at once). Where the system has no ``flock`` (Windows) it locks nothing."""

    def __init__(self, folder: str | os.PathLike[str], wait: float | None = None, poll: float = 0.5) -> None:
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, ".lock")
        self._file: IO[str] | None = None
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                self._file = self._acquire()
                return
            except FolderInUse:
                if deadline is None or time.monotonic() >= deadline:
                    raise
                time.sleep(poll)

    def _acquire(self) -> IO[str] | None:
        try:
            import fcntl
        except ImportError:  # no flock: no lock
            return None
        while True:
            f = open(self.path, "a+")
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.seek(0)
                holder = f.read().strip()
                f.close()
                raise FolderInUse(self.folder, holder) from None
            try:  # the holder before us may have removed the file on release: lock the one now there
                same = os.path.samestat(os.fstat(f.fileno()), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                f.seek(0)
                f.truncate()
                f.write(f"pid {os.getpid()}")
                f.flush()
                return f
            f.close()

    def release(self) -> None:
        """Remove the lock file and let go of the lock (a second call does nothing)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.remove(self.path)
            self._file.close()
            self._file = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
