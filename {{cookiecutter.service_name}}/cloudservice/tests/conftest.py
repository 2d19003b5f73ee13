from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cloudservice.model import DEFINITION_FILE, SOLUTION, Service


@pytest.fixture
def solution() -> Service:
    """This solution's own service files, read in place."""
    return Service.load(SOLUTION)


@pytest.fixture
def service_copy(tmp_path: Path) -> Service:
    """A copy of this solution's service files, free to change and to run in."""
    for path in [SOLUTION / DEFINITION_FILE, *SOLUTION.glob("ServiceConfiguration.*.cscfg")]:
        shutil.copy(path, tmp_path)
    return Service.load(tmp_path)
