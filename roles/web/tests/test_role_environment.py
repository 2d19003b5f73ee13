"""Settings, secret key and logging, as the role reads them from its environment."""

import logging
import logging.config
import secrets

import pytest

import role_environment
from role_environment import SettingError, flag, listed, logging_config, secret_key


@pytest.fixture
def key_file(monkeypatch, tmp_path):
    """Stand-in for the solution's .local-secret-key."""
    path = tmp_path / ".local-secret-key"
    monkeypatch.setattr(role_environment, "LOCAL_SECRET_FILE", path)
    return path


def test_secret_key_comes_from_the_environment(monkeypatch):
    key = secrets.token_urlsafe(50)
    monkeypatch.setenv("SECRET_KEY", key)
    assert secret_key() == key


@pytest.mark.parametrize("emulated", [None, "false"])
def test_in_the_cloud_a_missing_secret_key_stops_the_role(monkeypatch, key_file, emulated):
    key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    monkeypatch.setenv("SECRET_KEY", "")
    if emulated is None:
        monkeypatch.delenv("EMULATED", raising=False)
    else:
        monkeypatch.setenv("EMULATED", emulated)
    with pytest.raises(SettingError, match="SECRET_KEY is not set"):
        secret_key()


def test_a_placeholder_stops_the_role(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "REPLACE-WITH-A-LONG-RANDOM-SECRET")
    with pytest.raises(SettingError, match="SECRET_KEY still holds its placeholder"):
        secret_key()


def test_local_runs_use_the_solution_key(monkeypatch, key_file):
    key = secrets.token_urlsafe(50)
    key_file.write_text(key + "\n", encoding="utf-8")
    monkeypatch.setenv("EMULATED", "true")
    monkeypatch.setenv("SECRET_KEY", "")
    assert secret_key() == key


def test_local_runs_without_a_key_say_where_it_belongs(monkeypatch, key_file):
    monkeypatch.setenv("EMULATED", "true")
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(SettingError, match="local-secret-key"):
        secret_key()


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("False", False), ("", False)])
def test_flags(monkeypatch, value, expected):
    monkeypatch.setenv("HTTPS_ONLY", value)
    assert flag("HTTPS_ONLY") is expected


def test_a_flag_that_is_neither_true_nor_false_is_refused(monkeypatch):
    monkeypatch.setenv("HTTPS_ONLY", "yes")
    with pytest.raises(SettingError, match="HTTPS_ONLY must be true or false"):
        flag("HTTPS_ONLY")


def test_a_placeholder_inside_a_value_is_found_too(monkeypatch):
    monkeypatch.setenv("TRUSTED_ORIGINS", "https://REPLACE-WITH-YOUR-DNS-LABEL.cloudapp.azure.com")
    with pytest.raises(SettingError, match="TRUSTED_ORIGINS still holds its placeholder"):
        listed("TRUSTED_ORIGINS")


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("SITE_NAMES", " www.example.com, ,example.com ")
    assert listed("SITE_NAMES") == ["www.example.com", "example.com"]


@pytest.fixture
def root_logger():
    """The root logger, put back as it was after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
{% block server_tests %}
{% endblock %}


def test_logs_go_to_stdout(monkeypatch, capsys, root_logger):
{% block before_logging %}
{% endblock %}
    logging.config.dictConfig(logging_config())
    logging.getLogger("webapp").warning("disk almost full")
    assert "WARNING webapp: disk almost full" in capsys.readouterr().out
