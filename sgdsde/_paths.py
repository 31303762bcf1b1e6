"""Checks on output paths, made before any work so that a bad path never loses a result."""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["check_writable_file", "check_output_folder", "folder_argument", "atomic_write"]


def check_writable_file(path: str | Path, name: str) -> Path:
    """Raise now if ``path`` cannot be written as a file; return it as a Path.

    Parameters
    ----------
    path : str or Path
        Where a file will be written (its folder must exist).
    name : str
        The parameter's name, for the message.

    Raises
    ------
    IsADirectoryError, FileNotFoundError, PermissionError
        If ``path`` is a directory, its folder does not exist, or the folder (or an existing
        file at ``path``) is not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{name}={str(path)!r} is a directory; give the name of a file in it")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise FileNotFoundError(f"{name}={str(path)!r}: the folder {str(parent)!r} {what}")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PermissionError(f"{name}={str(path)!r}: not writable")
    return path


def check_output_folder(path: str | Path, name: str) -> Path:
    """Raise now if ``path`` cannot be (created and) written as a folder; return it as a Path.

    The folder itself need not exist yet: its nearest existing ancestor must be a writable
    folder.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{name}={str(path)!r} exists and is not a folder")
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NotADirectoryError(f"{name}={str(path)!r}: {str(ancestor)!r} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise PermissionError(f"{name}={str(path)!r}: the folder {str(ancestor)!r} is not writable")
    return path


def folder_argument(option: str) -> Callable[[str], Path]:
    """An argparse ``type`` for a folder a command will write, checked when the line is parsed.

    A long study must not run for hours and then fail to save because its output folder is
    a file or read-only: a bad folder is a usage error (exit status 2, the option named)
    before any work.  The folder need not exist yet (:func:`check_output_folder`).

    Parameters
    ----------
    option : str
        The option's name, e.g. ``"--out"``, for the message.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("--cache", type=folder_argument("--cache"))
    >>> parser.parse_args(["--cache", "runs"]).cache.name
    'runs'
    """
    def parse(text: str) -> Path:
        try:
            return check_output_folder(text, option)
        except OSError as err:  # argparse prefixes "argument <option>:" itself
            raise argparse.ArgumentTypeError(str(err).removeprefix(f"{option}=")) from None

    parse.__name__ = "folder"  # argparse names the type in its messages
    return parse


@contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Open a binary file that appears at ``path`` only once it is completely written.

    The data go to a temporary file in the same folder, renamed onto ``path`` when the
    block ends (atomic: an interrupted write never leaves a truncated file or corrupts an
    existing one); if the block raises, the temporary file is removed.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
