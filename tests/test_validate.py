"""`sgdsde validate`: every quick row passes, failures are reported and fail the command,
the Markdown table is well formed."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from sgdsde import validate
from sgdsde.cli import main
from sgdsde.validate import HEADER, ROWS, Check, format_markdown, format_table, run_validation

CHEAP = ["kramers_limit", "fp_boltzmann", "pspin_threshold_p3", "pspin_T_s_p4"]


def _cells(line: str) -> list[str]:
    """Cells of a Markdown table line, splitting on unescaped pipes."""
    assert line.startswith("|") and line.endswith("|"), line
    return [c.strip() for c in re.split(r"(?<!\\)\|", line[1:-1])]


def _assert_well_formed(markdown: str, n_rows: int) -> None:
    lines = markdown.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == n_rows + 2  # header, separator, one line per row
    n_columns = len(HEADER) + 2  # the row number and the time
    assert _cells(table[0]) == ["#", *HEADER, "time (s)"]
    assert all(re.fullmatch(r"-{3,}", c) for c in _cells(table[1])) and len(_cells(table[1])) == n_columns
    for i, line in enumerate(table[2:], 1):
        cells = _cells(line)
        assert len(cells) == n_columns, line
        assert cells[0] == str(i) and cells[-2] in ("pass", "FAIL")
        float(cells[3])  # the expected value is a number
        float(cells[-1])
    # the table is contiguous, and each row's tolerance rule follows it as a numbered note
    first = lines.index(table[0])
    assert lines[first:first + len(table)] == table
    notes = [line for line in lines if re.match(r"\d+\. ", line)]
    assert len(notes) == n_rows


@pytest.fixture(scope="module")
def quick_checks():
    return run_validation("quick")


@pytest.mark.slow
def test_every_quick_row_passes(quick_checks):
    assert [c.name for c in quick_checks] == list(ROWS)
    failed = [(c.name, c.expected, c.measured, c.tolerance) for c in quick_checks if not c.passed]
    assert not failed, failed
    for c in quick_checks:
        assert c.stderr >= 0 and c.tolerance > 0 and c.rule and c.source
        # statistical rows allow a stated number of standard errors, never less than 5
        if c.stderr > 0:
            assert c.tolerance >= validate.N_SE * c.stderr * (1 - 1e-12)


@pytest.mark.slow
def test_quick_markdown_table_is_well_formed(quick_checks):
    _assert_well_formed(format_markdown(quick_checks, "quick"), len(ROWS))


def test_pass_and_fail_of_a_check():
    two_sided = Check("x", "q", "s", expected=1.0, measured=1.2, stderr=0.05, tolerance=0.25, rule="5 SE")
    assert two_sided.passed and math.isclose(two_sided.deviation, 0.2)
    assert not dataclasses.replace(two_sided, measured=1.3).passed
    assert not dataclasses.replace(two_sided, measured=0.7).passed
    assert not dataclasses.replace(two_sided, measured=math.nan).passed
    above = dataclasses.replace(two_sided, sense="above")
    assert not above.passed  # 0.2 above, needs more than 0.25
    assert dataclasses.replace(above, measured=1.3).passed
    assert not dataclasses.replace(above, measured=0.0).passed


def _shifted(name: str, by_tolerances: float):
    """ROWS[name] with its expected value moved by a multiple of its tolerance."""
    row = ROWS[name]

    def wrong(level):
        check = row(level)
        return dataclasses.replace(check, expected=check.expected + by_tolerances * check.tolerance)

    return wrong


def test_a_row_outside_its_tolerance_is_reported_failed(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(ROWS, "kramers_limit", _shifted("kramers_limit", 3.0))
    out = tmp_path / "table.md"
    status = main(["validate", "--quick", "--rows", *CHEAP, "--markdown", str(out), "--quiet"])
    assert status != 0
    printed = capsys.readouterr().out
    assert "3/4 rows pass" in printed
    kramers_line = next(line for line in printed.splitlines() if line.startswith("k_Kramers"))
    assert kramers_line.rstrip().endswith("FAIL")
    markdown = out.read_text(encoding="utf-8")
    _assert_well_formed(markdown, len(CHEAP))
    results = [_cells(line)[-2] for line in markdown.splitlines() if re.match(r"\| \d", line)]
    assert results == ["FAIL", "pass", "pass", "pass"]


def test_a_row_just_inside_its_tolerance_passes(monkeypatch, capsys):
    monkeypatch.setitem(ROWS, "kramers_limit", _shifted("kramers_limit", 0.5))
    assert main(["validate", "--rows", "kramers_limit", "--quiet"]) == 0
    assert "1/1 rows pass" in capsys.readouterr().out


def test_terminal_table_has_one_line_per_row():
    checks = run_validation("quick", CHEAP)
    lines = format_table(checks).splitlines()
    assert len(lines) == len(CHEAP) + 3  # header, rule, rows, summary
    assert lines[-1].startswith(f"{len(CHEAP)}/{len(CHEAP)} rows pass")
    assert all(c.seconds >= 0 for c in checks)


def test_pipes_in_cells_are_escaped():
    check = Check("x", "∫|p − q| dx", "a | b", 0.0, 1e-12, 0.0, 1e-9, "rule | with pipe")
    _assert_well_formed(format_markdown([check]), 1)


def test_progress_is_reported_per_row():
    seen = []
    run_validation("quick", CHEAP[:2], progress=lambda c, i, n: seen.append((c.name, i, n)))
    assert seen == [(CHEAP[0], 0, 2), (CHEAP[1], 1, 2)]


def test_bad_input_is_named(capsys):
    with pytest.raises(ValueError, match="level must be one of"):
        run_validation("medium")
    with pytest.raises(ValueError, match="unknown validation rows"):
        run_validation("quick", ["no_such_row"])
    with pytest.raises(SystemExit):
        main(["validate", "--quick", "--full"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_list_names_every_row(capsys):
    assert main(["validate", "--list"]) == 0
    assert capsys.readouterr().out.split() == list(ROWS)
