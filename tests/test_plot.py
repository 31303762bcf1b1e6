"""The command-line helpers every example uses (sgdsde.plot)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from sgdsde.plot import example_arguments, example_parser, save_figure

DOC = """A figure.

More text.
"""


def test_example_arguments_defaults_to_the_figures_folder_beside_the_script(tmp_path):
    script = tmp_path / "study" / "make_figure.py"
    args = example_arguments(DOC, [], script=script)
    assert args.smoke is False
    assert args.out == tmp_path / "study" / "figures"
    assert matplotlib.get_backend().lower() == "agg"
    args = example_arguments(DOC, ["--smoke", "--out", "elsewhere"], script=script)
    assert args.smoke is True and args.out == Path("elsewhere")


def test_example_arguments_takes_the_scripts_own_options():
    def add(parser):
        parser.add_argument("--n", type=int, default=160)

    assert example_arguments(DOC, [], script="x.py", add_options=add).n == 160
    assert example_arguments(DOC, ["--n", "7", "--smoke"], script="x.py", add_options=add).n == 7
    with pytest.raises(SystemExit):  # an unknown option is an error, not ignored
        example_arguments(DOC, ["--n", "7"], script="x.py")
    assert example_parser(DOC, script="x.py").description == "A figure."


def test_save_figure_writes_the_smoke_or_full_name(tmp_path, capsys):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    out = tmp_path / "new" / "folder"
    smoke = save_figure(fig, out, "study", smoke=True)
    assert smoke == out / "study_smoke.png" and smoke.stat().st_size > 0
    assert not (out / "study.png").exists()  # a smoke run never writes the full-size name
    full = save_figure(fig, str(out), "study", smoke=False, dpi=50)
    assert full == out / "study.png" and full.exists()
    assert f"figure: {smoke}" in capsys.readouterr().out
    with pytest.raises(ValueError, match="stem"):
        save_figure(fig, out, "study.png", smoke=False)
    plt.close(fig)


def test_an_unwritable_out_folder_is_a_usage_error_when_parsed(tmp_path, capsys):
    """A long script must not run and then fail to save: --out is checked before any work."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for bad in (a_file, a_file / "below"):
        with pytest.raises(SystemExit) as info:
            example_arguments(DOC, ["--out", str(bad)], script="x.py")
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --out" in err and str(bad) in err and "Traceback" not in err
    assert example_arguments(DOC, ["--out", str(tmp_path / "new")], script="x.py").out == tmp_path / "new"
    assert not (tmp_path / "new").exists()  # checked, not created
