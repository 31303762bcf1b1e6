"""The documentation site: the API reference and every page build with warnings as errors,
every public name has a page, and the gallery shows every example that has a committed figure.

The build uses Sphinx's ``dummy`` builder: it reads and checks every source (docstrings
included) like the HTML build, without writing HTML (about half the time); ``make docs``
writes the HTML.
"""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("myst_parser")
pytest.importorskip("pydata_sphinx_theme")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import plain_bars  # noqa: E402
import sgdsde_pages  # noqa: E402


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "sphinx", "-b", "dummy", "-W", "--keep-going", "-q",
           "-d", str(out / "doctrees"), str(DOCS), str(out / "dummy")]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # ~17 s of CPU (imports, autodoc of ~230 pages); a minute on a loaded 2-core box
def test_site_builds_without_warnings(build):
    assert build.returncode == 0, f"sphinx -W failed:\n{build.stderr[-6000:]}"


@pytest.mark.slow
def test_every_public_name_has_a_page(build):
    stubs = {p.stem for p in (DOCS / "generated" / "api").glob("*.rst")}
    missing = []
    for module_name in sgdsde_pages.public_modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # needs an optional extra (the page says so)
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue
            home = getattr(obj, "__module__", None)
            where = home if (inspect.isclass(obj) or inspect.isfunction(obj)) and \
                sgdsde_pages.is_public(home) else module_name
            if f"{where}.{name}" not in stubs:
                missing.append(f"{module_name}.{name} (expected under {where})")
    assert not missing, f"public names without an API page: {missing}"
    for must in ("sgdsde.simulate.simulate", "sgdsde.results.Trajectory", "sgdsde.sde.LangevinSDE",
                 "sgdsde.landscapes.jax_model.JaxModel", "sgdsde.labelled.sweep_to_xarray"):
        assert must in stubs


def test_gallery_lists_every_example_with_a_committed_figure():
    figures = {p.stem for p in (ROOT / "examples" / "figures").glob("*.png") if not p.stem.endswith("_smoke")}
    scripts = {p.stem for p in (ROOT / "examples").glob("*.py")}
    expected = sorted(figures & scripts)
    assert expected, "no example with a committed figure"
    assert [name for name, _ in sgdsde_pages.gallery_entries()] == expected
    page = sgdsde_pages.gallery_page()
    for name in expected:
        assert f".. image:: ../../examples/figures/{name}.png" in page
        assert f"{name}.py\n" in page
    # the image paths are relative to docs/generated/ and point at the committed files
    assert (DOCS / "generated" / "../../examples/figures" / f"{expected[0]}.png").resolve().is_file()


def test_bars_are_escaped_outside_literals_only():
    lines = ["The norm |x − y| of ``|a|`` and :math:`|b|`.", "", "Example::", "",
             "    |x| stays", "", "Back |here|.", ">>> abs(-1) | 0"]
    assert plain_bars.escape_docstring(lines) == [
        "The norm \\|x − y\\| of ``|a|`` and :math:`|b|`.", "", "Example::", "",
        "    |x| stays", "", "Back \\|here\\|.", ">>> abs(-1) | 0"]
