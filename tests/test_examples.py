"""Every example script runs with ``--smoke`` and writes its figure (so examples never rot)."""

from __future__ import annotations

import os
import re
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


def test_examples_default_to_the_figures_folder_beside_them():
    """``--out`` defaults to ``examples/figures`` wherever the script is run from, and every
    figure name has a smoke variant, so ``--smoke`` never overwrites a committed figure: each
    example parses its command line with :mod:`sgdsde.plot` given its own path, and saves its
    figure, under its own name, with ``save_figure`` (both tested in tests/test_plot.py)."""
    for script in ALL_EXAMPLES:
        source = script.read_text()
        assert '"examples/figures"' not in source, f"{script.name}: --out relative to the working directory"
        assert re.search(r"example_(arguments|parser)\(__doc__, .*script=__file__", source), \
            f"{script.name}: --out default (example_arguments(__doc__, argv, script=__file__))"
        assert f'save_figure(fig, args.out, "{script.stem}", args.smoke' in source, \
            f"{script.name}: figure name (save_figure(fig, args.out, {script.stem!r}, args.smoke))"


def test_no_committed_figure_is_a_smoke_figure():
    figures = Path(__file__).resolve().parents[1] / "examples" / "figures"
    assert not list(figures.glob("*_smoke.png"))


# what in an example's source means it needs an extra -> that extra
NEEDS_EXTRA = {"load_digits": "digits", "sgdsde.distributed": "distributed", "sharpness_sweep": "distributed"}


def test_readme_lists_the_examples_that_need_an_extra():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    listed = {line.split("`")[1]: line for line in readme.splitlines() if line.startswith("- `")}
    for script in ALL_EXAMPLES:
        for marker, extra in NEEDS_EXTRA.items():
            if marker in script.read_text():
                assert script.name in listed.get(extra, ""), f"README: {script.name} needs '{extra}'"


def test_example_without_its_extra_names_it(tmp_path):
    """pspin_temperature_sweep.py without Dask: an ImportError naming the extra, not a bare
    ModuleNotFoundError (issue 15, class 15)."""
    script = Path(__file__).resolve().parents[1] / "examples" / "pspin_temperature_sweep.py"
    code = ("import runpy, sys; sys.modules['distributed'] = None; "
            f"sys.argv = ['x', '--smoke', '--out', {str(tmp_path)!r}]; "
            f"runpy.run_path({str(script)!r}, run_name='__main__')")
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "MissingExtraError" in done.stderr
    assert "pip install 'sgdsde[distributed]'" in done.stderr, done.stderr[-2000:]
    assert not list(tmp_path.glob("*.png"))


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
    # a smoke run must never overwrite a committed full-size figure (issue 15, class 14)
    assert all(f.name.endswith("_smoke.png") for f in figures), [f.name for f in figures]
    assert all(f.stat().st_size > 5_000 for f in figures), "a figure is suspiciously small (empty plot?)"


def _finite_n_study():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "pspin_ck_vs_finite_n.py"
    spec = importlib.util.spec_from_file_location("pspin_ck_vs_finite_n", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_finite_n_study_resumes_from_its_cache_with_the_same_numbers(tmp_path, capsys):
    """Each (N, T, sample) run is kept under --cache, with no temporary file left behind, and
    a second run reads every one back instead of running it again."""
    study = _finite_n_study()
    cache = tmp_path / "runs"
    study.main(["--smoke", "--cache", str(cache), "--out", str(tmp_path)])
    first = capsys.readouterr().out
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) == 3 * 2 and all(name.endswith(".npz") for name in kept), kept  # 3 sizes x 2 T
    assert first.count(", sample 1/1, T = ") == 6
    study.main(["--smoke", "--cache", str(cache), "--out", str(tmp_path)])
    second = capsys.readouterr().out
    assert ", sample 1/1, T = " not in second  # nothing ran again
    gaps = [line for line in first.splitlines() if "late-time gap" in line]
    assert gaps and gaps == [line for line in second.splitlines() if "late-time gap" in line]


def test_finite_n_study_rejects_a_cache_that_is_a_file_before_any_work(tmp_path, capsys):
    study = _finite_n_study()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(SystemExit) as info:
        study.main(["--smoke", "--cache", str(a_file / "runs"), "--out", str(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr()
    assert "argument --cache" in err.err and "CK solved" not in err.out


def test_finite_n_study_serves_a_smaller_cloud_from_the_first_particles_of_a_kept_larger_one(tmp_path):
    """Particle i's start and noise depend on (seed, i) only, so a kept 6-particle run serves a
    4-particle one: its first 4 columns equal a direct 4-particle run to rounding (float64;
    different particles would differ by O(0.1)); a kept run with fewer particles, or of
    another sample, serves nothing."""
    from argparse import Namespace

    import numpy as np

    from sgdsde.landscapes.pspin import SphericalPSpin

    study = _finite_n_study()
    args = Namespace(cache=tmp_path, t1=0.4, t_wait=0.2, dt=0.02, record=0.2, float32=False,
                     richardson=True, backend="numba", progress=False)
    landscape = SphericalPSpin(16, 3, seed=3)
    seed = 16017
    study._save_run(args, 16, 0.5, seed, 6, study.run_sample(landscape, 0.5, args, seed, 6))
    direct = study.run_sample(landscape, 0.5, args, seed, 4)
    kept = study._load_run(args, 16, 0.5, seed, 4)
    for a, b in zip(kept, direct, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    assert study._load_run(args, 16, 0.5, seed, 8) is None
    assert study._load_run(args, 16, 0.5, seed + 100, 4) is None
    assert study._load_run(args, 16, 1.2, seed, 4) is None
