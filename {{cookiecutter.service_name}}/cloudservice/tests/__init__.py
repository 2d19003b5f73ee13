"""Tests of the solution's own tool: ``python -m pytest cloudservice``."""
