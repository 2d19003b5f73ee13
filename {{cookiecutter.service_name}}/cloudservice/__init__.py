"""The solution's own tool: ``python -m cloudservice <command>``."""
