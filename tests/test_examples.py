"""Every example script runs with ``--smoke`` and writes its figure (so examples never rot)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ALL_EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
# Examples whose --smoke run is already tested, with assertions on what it measures, beside
# the module they illustrate: not run a second time here.
CHECKED_ELSEWHERE = {
    "critical_points_vs_complexity": "tests/test_critical_points.py",
    "double_well_fokker_planck": "tests/test_fokker_planck_compare.py",
    "entropy_vs_temperature": "tests/test_entropy.py",
}
EXAMPLES = [p for p in ALL_EXAMPLES if p.stem not in CHECKED_ELSEWHERE]


def test_there_are_examples():
    assert len(ALL_EXAMPLES) >= 7
    assert set(CHECKED_ELSEWHERE) <= {p.stem for p in ALL_EXAMPLES}


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_smoke(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    done = subprocess.run([sys.executable, str(script), "--smoke", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    figures = list(tmp_path.glob("*.png"))
    assert figures, f"{script.name} wrote no figure into --out"
    assert all(f.stat().st_size > 5_000 for f in figures), "a figure is suspiciously small (empty plot?)"
