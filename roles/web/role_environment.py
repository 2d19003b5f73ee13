"""What the cloud service gives this role: its settings, its secret key, where to log, and
which instance it is.

Every setting declared for the role in ServiceDefinition.csdef reaches the process as an
environment variable of the same name; ServiceConfiguration.Cloud.cscfg and
ServiceConfiguration.Local.cscfg hold the values. A setting that is missing, malformed or
still holds its ``REPLACE-WITH-...`` placeholder stops the role at start-up with a
SettingError that names it, rather than letting it run half-configured.
"""

from __future__ import annotations

import logging.config
import os
from pathlib import Path

# The role folder sits directly in the solution folder on a developer's machine; the
# per-solution key for local runs is kept there, out of git. Role VMs never have it.
LOCAL_SECRET_FILE = Path(__file__).resolve().parent.parent / ".local-secret-key"
PLACEHOLDER = "REPLACE-WITH-"
NOT_SET = "(not set)"
LOCAL_KEY_COMMAND = (
    "python -c \"import pathlib, secrets; "
    "pathlib.Path('.local-secret-key').write_text(secrets.token_urlsafe(50))\""
)


class SettingError(RuntimeError):
    """A setting the role cannot run with; the message says which one and what to do."""


def setting(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if PLACEHOLDER in value:
        raise SettingError(
            f"{name} still holds its placeholder {value!r}: "
            "give it a real value in ServiceConfiguration.Cloud.cscfg"
        )
    return value


def flag(name: str) -> bool:
    """A true/false setting; empty means false."""
    value = setting(name).lower()
    if value not in ("", "true", "false"):
        raise SettingError(f"{name} must be true or false, not {value!r}")
    return value == "true"


def listed(name: str) -> list[str]:
    """A comma-separated setting as a list, without blanks."""
    return [item.strip() for item in setting(name).split(",") if item.strip()]


def running_locally() -> bool:
    """True under ``python -m cloudservice run``, which sets EMULATED=true as the compute
    emulator did. Everywhere else, tests included, the role behaves as in the cloud."""
    return os.environ.get("EMULATED", "").strip().lower() == "true"


def role_instance() -> list[tuple[str, str]]:
    """Which role instance this process is, as (label, value) pairs for a page to show:
    from the variables ServiceDefinition.csdef gives every instance, which
    ``python -m cloudservice run`` sets for each local instance as Azure does."""
    return [
        ("Role", os.environ.get("ROLE_NAME") or NOT_SET),
        ("Instance", os.environ.get("ROLE_INSTANCE_ID") or NOT_SET),
        ("Deployment", os.environ.get("DEPLOYMENT_ID") or NOT_SET),
        ("Emulated", "true" if running_locally() else "false"),
    ]


def secret_key() -> str:
    """SECRET_KEY, or for local runs with SECRET_KEY empty, the key in .local-secret-key."""
    key = setting("SECRET_KEY")
    if key:
        return key
    if not running_locally():
        raise SettingError(
            "SECRET_KEY is not set: give the role a long random value in "
            "ServiceConfiguration.Cloud.cscfg (for example the output of "
            "python -c \"import secrets; print(secrets.token_urlsafe(50))\")"
        )
    try:
        # utf-8-sig: an editor may have saved the file with a byte order mark.
        key = LOCAL_SECRET_FILE.read_text(encoding="utf-8-sig").strip()
    except FileNotFoundError:
        key = ""
    if not key:
        raise SettingError(
            f"SECRET_KEY is empty and {LOCAL_SECRET_FILE} holds no key: make one with "
            f"{LOCAL_KEY_COMMAND} in {LOCAL_SECRET_FILE.parent}, or set SECRET_KEY"
        )
    return key


def logging_config() -> dict:
{% block log_handler %}
{% endblock %}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"default": {**handler, "formatter": "line"}},
        "root": {"handlers": ["default"], "level": "INFO"},
    }


def configure_logging() -> None:
    logging.config.dictConfig(logging_config())
