"""``python -m cloudservice <command>``: the solution's own tool.

Run it from the solution's folder with the solution's virtual environment.
"""

from __future__ import annotations

import argparse
import sys

from cloudservice import check, containerapps, deploy, package, prepare, run, testing
from cloudservice.model import ModelError


def parser() -> argparse.ArgumentParser:
    tool = argparse.ArgumentParser(
        prog="python -m cloudservice", description="Work with this cloud service."
    )
    commands = tool.add_subparsers(dest="command", required=True, metavar="command")

    for command in (run, testing, prepare, check, package, deploy, containerapps):
        command.add_parser(commands)
    return tool


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ModelError as error:
        print(f"cloudservice {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
