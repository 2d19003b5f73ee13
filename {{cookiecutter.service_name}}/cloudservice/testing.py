"""``python -m cloudservice test``: every role's tests, then this tool's.

Each runs in its own pytest process from the solution's folder: two roles of one
kind have modules of the same names, which one Python process cannot tell apart.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from cloudservice.model import Service

TOOL = "cloudservice"
OUTCOMES = {0: "passed", 1: "FAILED", 2: "interrupted", 5: "NO TESTS"}


def main(roles: list[str] | None = None, pytest_args: list[str] | None = None) -> int:
    service = Service.load()
    targets = [role.name for role in service.roles_named(roles)] + ([] if roles else [TOOL])
    results = {}
    try:
        for target in targets:
            print(f"\n=== {target} ===", flush=True)
            command = [sys.executable, "-m", "pytest", target, *(pytest_args or [])]
            results[target] = subprocess.call(command, cwd=service.root)
    except KeyboardInterrupt:
        return 130
    width = max(len(target) for target in targets)
    print("\nSummary:")
    for target, code in results.items():
        print(f"  {target.ljust(width)}  {OUTCOMES.get(code, f'ERROR (pytest exit code {code})')}")
    return 0 if all(code == 0 for code in results.values()) else 1


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "test",
        help="run the tests of every role and of this tool",
        description="Run each role's tests, then this tool's, each in its own pytest process"
        " (roles of one kind share module names), and sum up.",
    )
    Service.add_role_option(parser, "test")
    parser.add_argument(
        "pytest_args", nargs="*", metavar="PYTEST_ARG", help="passed to pytest (after --)"
    )
    parser.set_defaults(func=lambda args: main(args.roles, args.pytest_args))
    return parser
