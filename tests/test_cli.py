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



# The panels of the wave-2 studies (issues 18-20): each runs at a small scale and shows its figure.
NEW_PANELS = {"sme_limit": "sme_limit.png", "parity": "parity.png", "saddles": "saddles.png"}


@pytest.mark.parametrize(("study", "figure"), NEW_PANELS.items())
def test_each_new_panel_writes_its_figure(tmp_path, study, figure):
    report = run_demo(tmp_path, scale=0.05, seed=1, studies=[study], progress=False).read_text()
    assert f"]({figure})" in report
    assert not re.search(r"\bnan\b", report, flags=re.IGNORECASE)  # every printed number is finite
    _check_report(tmp_path)


def test_sections_are_numbered_in_the_order_run(tmp_path):
    report = run_demo(tmp_path, scale=0.01, studies=["sme_limit", "fokker_planck"], progress=False)
    report = report.read_text()
    headings = re.findall(r"^## (\d+)\. (.*)$", report, flags=re.MULTILINE)
    assert [number for number, _ in headings] == ["1", "2"]
    assert headings[0][1] == "Where the SME stops being exact"


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


# --- issue 15, classes 6 and 8: bad arguments are usage errors, checked before any work ---------

@pytest.mark.parametrize(("argv", "option"), [
    (["demo", "--studies", "nonsense"], "--studies"),
    (["demo", "--seed", "-1"], "--seed"),
    (["demo", "--seed", "1.5"], "--seed"),
    (["demo", "--seed", str(2**64)], "--seed"),
    (["validate", "--rows", "no_such_row"], "--rows"),
])
def test_bad_arguments_are_usage_errors(argv, option, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "Traceback" not in err


def test_bad_output_paths_are_usage_errors_before_any_work(tmp_path, capsys, monkeypatch):
    import sgdsde.demo
    import sgdsde.validate

    def must_not_run(*args, **kwargs):
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr(sgdsde.validate, "run_validation", must_not_run)
    monkeypatch.setattr(sgdsde.demo, "run_demo", must_not_run)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [(["demo", "--out", str(a_file)], "--out"),
             (["demo", "--out", str(a_file / "below")], "--out"),
             (["validate", "--markdown", str(tmp_path / "missing" / "table.md")], "--markdown"),
             (["validate", "--markdown", str(tmp_path)], "--markdown")]
    for argv, option in cases:
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2, argv
        assert f"argument {option}" in capsys.readouterr().err, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_version(capsys):
    import sgdsde

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sgdsde {sgdsde.__version__}"


def test_validate_markdown_rewrites_the_table_and_keeps_the_text_below_the_marker(tmp_path, monkeypatch,
                                                                                  capsys):
    import sgdsde.validate
    from sgdsde.cli import KEEP_BELOW
    from sgdsde.validate import Check

    check = Check("row", "a quantity", "a source", 1.0, 1.0, 0.0, 0.1, "0.1: a rule", seconds=2.0)
    monkeypatch.setattr(sgdsde.validate, "run_validation", lambda level, rows, progress: [check])
    page = tmp_path / "validation.md"
    page.write_text("# Validation\n\nan old table\n\n" + KEEP_BELOW + "\n\n## Derivations\n\nkept text\n")
    assert main(["validate", "--quiet", "--markdown", str(page)]) == 0
    text = page.read_text()
    assert "an old table" not in text and "| 1 | a quantity | a source |" in text
    assert text.startswith("# Validation\n\nOutput of `sgdsde validate --quick --markdown FILE`")
    assert text.endswith(KEEP_BELOW + "\n\n## Derivations\n\nkept text\n") and text.count(KEEP_BELOW) == 1
    # a file without the marker is simply overwritten
    page.write_text("no marker here\n")
    assert main(["validate", "--quiet", "--markdown", str(page)]) == 0
    assert "no marker here" not in page.read_text()
