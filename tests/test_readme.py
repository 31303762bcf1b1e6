"""The README's Python examples run as written.

Every fenced ```python block of README.md is executed in a fresh namespace (so each block
must be self-contained: its own imports), except a block preceded by the line
``<!-- readme-test: skip (reason) -->``: the reason says why it cannot run in the suite (e.g.
a full-size quickstart that takes a minute on a loaded 2-core machine).  A block that needs
an optional extra is skipped when the extra is missing (its ImportError names the module).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b(?P<reason>.*?)-->\s*$")


def _blocks():
    text = README.read_text(encoding="utf-8")
    out = []
    for match in re.finditer(r"```python\n(.*?)^```", text, re.S | re.M):
        line = text.count("\n", 0, match.start()) + 1
        previous = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.search(previous)
        marks = [pytest.mark.skip(reason=f"README line {line}: {skip['reason'].strip() or 'marked skip'}")] \
            if skip else []
        out.append(pytest.param(match.group(1), id=f"line{line}", marks=marks))
    return out


BLOCKS = _blocks()


def test_readme_has_python_examples():
    assert BLOCKS, "README.md has no ```python blocks"


@pytest.mark.parametrize("code", BLOCKS)
def test_readme_block_runs(code, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace = {"__name__": "__readme__"}
    try:
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - the README is ours
    except ImportError as err:
        if err.name in ("jax", "xarray", "h5netcdf", "h5py", "distributed", "dask", "cupy", "sklearn"):
            pytest.skip(f"needs the optional module {err.name}")
        raise
