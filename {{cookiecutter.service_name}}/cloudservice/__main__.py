"""``python -m cloudservice <command>``: the solution's own tool.

Run it from the solution's folder with the solution's virtual environment.
"""

from __future__ import annotations

import argparse
import sys

from cloudservice import check, containerapps, deploy, package, prepare
from cloudservice.model import ModelError


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


def parser() -> argparse.ArgumentParser:
    tool = argparse.ArgumentParser(
        prog="python -m cloudservice", description="Work with this cloud service."
    )
    commands = tool.add_subparsers(dest="command", required=True, metavar="command")

    run = commands.add_parser(
        "run",
        help="run the roles on this machine, as Azure would",
        description="Run every role (or one) with the environment Azure would give it, from"
        " ServiceDefinition.csdef and ServiceConfiguration.Local.cscfg. Ctrl+C stops them.",
    )
    run.add_argument("--role", metavar="NAME", help="run this role only")
    run.add_argument(
        "--instances",
        type=positive,
        metavar="N",
        help="instances of each role (default: the count in ServiceConfiguration.Local.cscfg)",
    )
    run.add_argument(
        "--in-process",
        action="store_true",
        help="run the one --role in this process, without restarts, so that a debugger"
        " attached to it stops at breakpoints in the role's code",
    )
    run.add_argument(
        "--containers",
        action="store_true",
        help="build each role's image (its Dockerfile) with podman or docker and run the"
        " roles in containers",
    )
    run.add_argument(
        "--base-image",
        metavar="IMAGE",
        help="with --containers: the Python image to build on (the Dockerfiles' PYTHON_IMAGE)",
    )

    test = commands.add_parser(
        "test",
        help="run the tests of every role and of this tool",
        description="Run each role's tests, then this tool's, each in its own pytest process"
        " (roles of one kind share module names), and sum up.",
    )
    test.add_argument("--role", metavar="NAME", help="test this role only")
    test.add_argument(
        "pytest_args", nargs="*", metavar="PYTEST_ARG", help="passed to pytest (after --)"
    )

    for command in (prepare, check, package, deploy, containerapps):
        command.add_parser(commands)
    return tool


def main(argv: list[str] | None = None) -> int:
    tool = parser()
    args = tool.parse_args(argv)
    if (
        args.command == "run"
        and args.in_process
        and (args.role is None or (args.instances or 1) > 1)
    ):
        tool.error(
            "--in-process runs one instance of one role: give --role NAME (and no --instances)"
        )
    if args.command == "run" and args.containers and args.in_process:
        tool.error("--in-process runs the role in this process, not in a container: choose one")
    if args.command == "run" and args.base_image and not args.containers:
        tool.error("--base-image is for the images of --containers: give --containers too")
    try:
        if args.command == "run":
            from cloudservice import run

            return run.main(
                args.role, args.instances, args.in_process, args.containers, args.base_image
            )
        if args.command == "test":
            from cloudservice import testing

            return testing.main(args.role, args.pytest_args)
        return args.func(args)
    except ModelError as error:
        print(f"cloudservice {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
