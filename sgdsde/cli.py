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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgdsde`` command."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
