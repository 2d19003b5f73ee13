from __future__ import annotations

import pytest

from cloudservice import azurite


@pytest.fixture
def installed_azurite():
    """Azurite in the cache, installed with npm if it is not there yet."""
    try:
        return azurite.ensure_installed()
    except azurite.AzuriteUnavailable as error:
        pytest.skip(f"Azurite cannot be installed here: {error}")


def test_without_node_an_installed_azurite_is_unavailable_saying_why(
    installed_azurite, monkeypatch, tmp_path
):
    monkeypatch.setenv("PATH", str(tmp_path / "bin-without-node"))
    with (
        pytest.raises(azurite.AzuriteUnavailable, match="Node.js, which is not on PATH"),
        azurite.running(tmp_path / "data"),
    ):
        pass
