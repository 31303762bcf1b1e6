"""The ``sgdsde`` command."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args) -> int:
    from .demo import run_demo

    report = run_demo(args.out, n_particles=args.particles, seed=args.seed, progress=not args.quiet)
    print(f"report written to {report}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sgdsde", description="SGD as an SDE: particle-cloud studies.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the default study and write a report with figures")
    demo.add_argument("--out", default="sgdsde-report", help="output folder (default: sgdsde-report)")
    demo.add_argument("--particles", type=int, default=100_000, help="cloud size (default 1e5)")
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
