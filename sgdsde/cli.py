"""The ``sgdsde`` command.

Bad arguments (an unknown study or row, a negative seed, an output path that cannot be
written) are usage errors: a message naming the option and exit status 2, checked before any
work starts.
"""

from __future__ import annotations

import argparse
import sys

from ._paths import folder_argument

__all__ = ["main", "build_parser"]

MAX_SEED = 2**63 - 1  # studies derive further seeds as seed + small offsets; all stay in uint64


def _demo(args) -> int:
    from .demo import run_demo

    report = run_demo(args.out, scale=args.scale, seed=args.seed, progress=not args.quiet,
                      studies=args.studies)
    print(f"report written to {report}")
    return 0


def _validate(args) -> int:
    from pathlib import Path

    from .validate import ROWS, format_markdown, format_table, run_validation

    if args.list:
        print("\n".join(ROWS))
        return 0

    def progress(check, i, n):
        if not args.quiet:
            status = "pass" if check.passed else "FAIL"
            print(f"[{i + 1}/{n}] {check.name}: {status} ({check.seconds:.1f} s)", file=sys.stderr,
                  flush=True)

    checks = run_validation(args.level, args.rows, progress=progress)
    print(format_table(checks))
    if args.markdown:  # its path was checked by the parser, before any row ran
        path = Path(args.markdown)
        try:
            text = _markdown_title(checks, args) + format_markdown(checks, args.level) + _kept_tail(path)
            path.write_text(text, encoding="utf-8")
        except OSError as err:  # the path went bad while the rows ran: the table above stands
            print(f"sgdsde validate: could not write the Markdown table to {path}: {err}", file=sys.stderr)
            return 1
        print(f"Markdown table written to {path}")
    return 0 if all(c.passed for c in checks) else 1


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**63), got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**63), got {value}")
    return value


#: A line in a Markdown file after which ``validate --markdown`` keeps the file's own text
#: (e.g. the derivations below the table in docs/validation.md) instead of overwriting it.
KEEP_BELOW = "<!-- sgdsde validate: the text below this line is kept when the table is rewritten -->"


def _markdown_title(checks, args) -> str:
    """Title and provenance line of the Markdown file: what ran, when, on what, how long."""
    import datetime
    import os
    import platform

    rows = "" if args.rows is None else " --rows " + " ".join(args.rows)
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return (f"# Validation\n\nOutput of `sgdsde validate --{args.level}{rows} --markdown FILE` "
            f"({today}; {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; {sum(c.seconds for c in checks):.0f} s in all).\n\n")


def _kept_tail(path) -> str:
    """The marker line and everything after it in ``path``, or "" if it has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return ""
    at = text.find(KEEP_BELOW)
    return "" if at < 0 else "\n" + text[at:]


def _markdown_file(text: str) -> str:
    from ._paths import check_writable_file

    try:
        check_writable_file(text, "--markdown")
    except OSError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--markdown=")) from None
    return text


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("sgdsde")
    except PackageNotFoundError:  # run from a source tree that is not installed
        from . import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    from .demo import STUDIES
    from .validate import ROWS

    parser = argparse.ArgumentParser(prog="sgdsde", description="SGD as an SDE: particle-cloud studies.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the default study and write a report with figures")
    demo.add_argument("--out", type=folder_argument("--out"), default="sgdsde-report",
                      help="output folder, created if missing (default: sgdsde-report)")
    demo.add_argument("--scale", type=_scale, default=1.0,
                      help="size factor in (0, 1]: 1 is the full demo (a few minutes on 2 cores)")
    demo.add_argument("--studies", nargs="+", default=None, metavar="NAME", choices=list(STUDIES),
                      help=f"run only these studies ({', '.join(STUDIES)})")
    demo.add_argument("--seed", type=_seed, default=0, help="random seed in [0, 2**63) (default 0)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)
    validate = sub.add_parser("validate", help="reproduce published results; exit status 1 if a row fails")
    level = validate.add_mutually_exclusive_group()
    level.add_argument("--quick", dest="level", action="store_const", const="quick",
                       help="small samples, about a minute (the default)")
    level.add_argument("--full", dest="level", action="store_const", const="full",
                       help="sizes that resolve every row (a few minutes on 2 cores)")
    validate.set_defaults(level="quick")
    validate.add_argument("--markdown", metavar="FILE", type=_markdown_file,
                          help="also write the table as Markdown to FILE (checked before any row runs); "
                               "text below a line '" + KEEP_BELOW + "' in FILE is kept")
    validate.add_argument("--rows", nargs="+", metavar="NAME", default=None, choices=list(ROWS),
                          help="run only these rows (see --list)")
    validate.add_argument("--list", action="store_true", help="list the row names and exit")
    validate.add_argument("--quiet", action="store_true", help="no progress lines")
    validate.set_defaults(func=_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgdsde`` command."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
