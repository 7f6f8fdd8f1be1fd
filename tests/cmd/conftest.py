"""Fixtures shared by the command tests."""

from tests.cmd.test_manage import fresh  # noqa: F401 (fixture)
