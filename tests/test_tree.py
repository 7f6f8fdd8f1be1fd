"""Tests mirror the package: every module of ``reqspec.db`` has a test
module of its own, ``tests/db/test_<module>.py``, that runs its SQL on
the real backends."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
DB = ROOT / "reqspec" / "db"
TESTS = ROOT / "tests" / "db"

#: Modules whose test module has another name.
NAMED_OTHERWISE = {"migration": "test_migrations.py"}


def _modules() -> set[str]:
    return {p.stem for p in DB.glob("*.py")} - {"__init__"}


def _test_module(module: str) -> pathlib.Path:
    return TESTS / NAMED_OTHERWISE.get(module, f"test_{module}.py")


def test_every_db_module_has_a_test_module() -> None:
    missing = sorted(
        module for module in _modules() if not _test_module(module).exists()
    )
    assert missing == [], f"no tests/db/test_<module>.py for {missing}"
