"""The ``sgdsde`` command."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


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
    if args.markdown:
        path = Path(args.markdown)
        path.write_text(format_markdown(checks, args.level), encoding="utf-8")
        print(f"Markdown table written to {path}")
    return 0 if all(c.passed for c in checks) else 1


def _scale(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sgdsde", description="SGD as an SDE: particle-cloud studies.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the default study and write a report with figures")
    demo.add_argument("--out", default="sgdsde-report", help="output folder (default: sgdsde-report)")
    demo.add_argument("--scale", type=_scale, default=1.0,
                      help="size factor in (0, 1]: 1 is the full demo (about 2 min on 2 cores)")
    demo.add_argument("--studies", nargs="+", default=None, metavar="NAME",
                      help="run only these studies (fokker_planck, pspin, sgd, entropy)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)
    validate = sub.add_parser("validate", help="reproduce published results; exit status 1 if a row fails")
    level = validate.add_mutually_exclusive_group()
    level.add_argument("--quick", dest="level", action="store_const", const="quick",
                       help="small samples, about a minute (the default)")
    level.add_argument("--full", dest="level", action="store_const", const="full",
                       help="sizes that resolve every row (a few minutes on 2 cores)")
    validate.set_defaults(level="quick")
    validate.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown to FILE")
    validate.add_argument("--rows", nargs="+", metavar="NAME", default=None,
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
