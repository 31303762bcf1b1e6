"""Shared plumbing of the benchmark scripts: machine description, timing, RESULTS.md."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def describe_machine() -> str:
    """One line: CPU model, cores, memory, Python and library versions."""
    import numba
    import numpy
    import scipy

    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{model}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, SciPy {scipy.__version__}, Numba {numba.__version__}, "
            f"{numba.get_num_threads()} Numba threads")


def best_time(fn, repeat: int = 3) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn()`` (s)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def record(title: str, body: str, device: str | None = None) -> None:
    """Append a dated section to benchmarks/RESULTS.md in one write."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"\n## {title}\n\n{stamp} — {device or describe_machine()}\n\n{body}\n"
    with RESULTS.open("a") as f:
        f.write(text)
