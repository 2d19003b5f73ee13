"""The suite runs a role's own tests once per fingerprint (conftest.run_role_tests): roles
that differ only in their names share one run, and everything else gets its own."""

from __future__ import annotations

from conftest import role_fingerprint


def baked_role(bake, role: str, **answers):
    result = bake(**answers)
    assert result.exit_code == 0, result.exception
    return role_fingerprint(result.project_path, role)


def test_roles_that_differ_only_in_their_names_share_a_fingerprint(bake):
    assert baked_role(bake, "FlaskWebRole", roles="flask") == baked_role(
        bake, "Shop", roles="Shop:flask", service_name="Orders-Service"
    )


def test_a_different_role_file_changes_the_fingerprint(bake):
    """wfastcgi changes the web role's code; a Python version changes only its VM scripts
    and its image's base."""
    httpplatform = baked_role(bake, "FlaskWebRole", roles="flask")
    assert baked_role(bake, "FlaskWebRole", roles="flask", web_server="wfastcgi") != httpplatform
    assert baked_role(bake, "FlaskWebRole", roles="flask", python_version="3.13") == httpplatform


def test_a_name_that_can_shadow_a_module_keeps_its_own_fingerprint(bake):
    """A role folder named like a standard module (queue), a requirement (flask) or one
    of the role's own modules (worker) changes what its tests import."""
    assert baked_role(bake, "Queue", roles="Queue:worker") != baked_role(bake, "Jobs", roles="Jobs:worker")
    assert baked_role(bake, "Worker", roles="Worker:worker") != baked_role(bake, "Jobs", roles="Jobs:worker")
    assert baked_role(bake, "Flask", roles="Flask:flask") != baked_role(bake, "Shop", roles="Shop:flask")
