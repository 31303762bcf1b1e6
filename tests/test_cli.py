"""The ``sgdsde`` command: ``sgdsde demo`` at a tiny size writes its report and figures."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from sgdsde.cli import build_parser, main
from sgdsde.demo import STUDIES, run_demo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = ["--scale", "0.01", "--studies", "fokker_planck", "--quiet"]  # a few seconds


def _check_report(folder):
    """The report exists and every figure it shows is a real PNG next to it."""
    report = (folder / "report.md").read_text()
    assert report.startswith("# sgdsde demo report")
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", report)
    assert figures
    for name in figures:
        data = (folder / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name
    return report


def test_demo_writes_report_and_figures(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["demo", "--out", str(out), "--seed", "3", *TINY]) == 0
    assert f"report written to {out / 'report.md'}" in capsys.readouterr().out
    report = _check_report(out)
    assert "scale = 0.01, seed = 3" in report


def test_demo_is_reproducible(tmp_path):
    """Same seed, same report (the timing line aside)."""
    def numbers(folder):
        main(["demo", "--out", str(folder), "--seed", "7", *TINY])
        return [line for line in (folder / "report.md").read_text().splitlines()
                if not line.startswith("_Run with")]

    assert numbers(tmp_path / "a") == numbers(tmp_path / "b")


@pytest.mark.parametrize("value", ["0", "-0.5", "1.5", "large"])
def test_demo_rejects_a_bad_scale(value, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["demo", "--scale", value])
    assert info.value.code == 2
    assert "--scale" in capsys.readouterr().err


def test_demo_rejects_unknown_studies(tmp_path):
    with pytest.raises(ValueError, match=f"choose from {', '.join(STUDIES)}"):
        run_demo(tmp_path, scale=0.01, studies=["nonsense"], progress=False)
    with pytest.raises(ValueError, match=r"scale must lie in \(0, 1\]"):
        run_demo(tmp_path, scale=0.0, progress=False)


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit):
        main([])
    assert "demo" in capsys.readouterr().err


def test_module_entry_point_runs(tmp_path):
    """``python -m sgdsde.cli demo`` in a fresh process (what the console script calls)."""
    done = subprocess.run([sys.executable, "-m", "sgdsde.cli", "demo", "--out", str(tmp_path), *TINY],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    _check_report(tmp_path)
