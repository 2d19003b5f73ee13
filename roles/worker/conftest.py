"""Makes ``worker`` and ``queue_consumer`` importable in the tests (pytest puts this folder
on sys.path) and the solution's ``cloudservice`` package, which starts Azurite for them."""

import sys
from pathlib import Path

SOLUTION = str(Path(__file__).resolve().parent.parent)
if SOLUTION not in sys.path:
    sys.path.append(SOLUTION)
