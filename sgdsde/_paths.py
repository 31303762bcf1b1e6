"""Checks on output paths, made before any work so that a bad path never loses a result."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check_writable_file", "check_output_folder"]


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
