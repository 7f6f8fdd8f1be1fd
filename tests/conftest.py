"""Shared fixtures.

Tests that take the ``db`` fixture (or ``database_set``) run once per
backend: SQLite, PostgreSQL and MySQL/MariaDB. ``@pytest.mark.backends(...)``
narrows that list for a test that only makes sense on some backends.
``@pytest.mark.galera`` adds the fourth backend, a three-node Galera cluster
(API database and cells on it): the tests that prove what Galera changes
(persistence, isolation, races, retries, transfers, migrations) carry it;
the rest of the suite would only repeat the mysql backend's run, slower. Each
backend's databases are created once per session (schema from the models,
which the migration tests prove equal to the migrated schema) and emptied
after every test.

With ``REQSPEC_REQUIRE_BACKENDS`` set (CI), an unreachable backend fails its
tests, and a run in which any test was skipped fails as a whole.
"""

from collections.abc import Iterator
import dataclasses
from typing import Any

import pytest
import sqlalchemy as sa

from reqspec import conf
from reqspec import context
from reqspec.conf import settings as conf_settings
from reqspec.db import api_models
from reqspec.db import cell_models
from reqspec.db import engines
from reqspec.objects import CellMapping
from tests.fixtures import databases
from tests.fixtures import settings as test_settings
from tests.fixtures.databases import provisioners  # noqa: F401 (fixture)
from tests.fixtures.services import broker  # noqa: F401 (fixture)

CONF = conf.CONF


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run only on these database backends"
    )
    config.addinivalue_line(
        "markers", "galera: also run on the Galera cluster backend"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = marker.args if marker else databases.BACKENDS
        if metafunc.definition.get_closest_marker("galera"):
            names = (*names, databases.GALERA)
        metafunc.parametrize("backend", names, scope="session")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if databases.backends_required() and skipped and exitstatus == 0:
        reporter.write_line(
            f"REQSPEC_REQUIRE_BACKENDS is set and {skipped} test(s) were "
            "skipped: failing the run",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _isolated_configuration(tmp_path: object) -> Iterator[None]:
    """Nothing a test does lands in the working directory or leaks into
    the next test's configuration. Tests build their own settings
    (``tests.fixtures.settings``); the global CONF is what the commands
    and services a test runs in-process read."""
    CONF.set_override("state_path", str(tmp_path))
    yield
    CONF.reset()  # drops every override a test made
    conf_settings.set_default(None)


@dataclasses.dataclass
class DatabaseSet:
    """An API database and two cell databases on one backend."""

    backend: str
    api_url: str
    cell_urls: tuple[str, str]


@pytest.fixture(scope="session")
def database_set(
    backend: str,
    provisioners: dict[str, databases.Provisioner],  # noqa: F811
) -> DatabaseSet:
    provisioner = databases.provisioner_for(provisioners, backend)
    api_url = provisioner.create("api")
    cell_urls = (provisioner.create("cell1"), provisioner.create("cell2"))
    api_models.APIBase.metadata.create_all(engines.database(api_url).engine)
    for url in cell_urls:
        cell_models.CellBase.metadata.create_all(engines.database(url).engine)
    return DatabaseSet(backend, api_url, cell_urls)


def _empty(url: str, metadata: sa.MetaData) -> None:
    with engines.database(url).engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@dataclasses.dataclass
class Env:
    """What a database test works with: an admin context on the API
    database and two registered cells, and the settings of that context
    (a configuration of the test's own)."""

    backend: str
    api_url: str
    ctx: context.RequestContext
    cells: list[CellMapping]
    settings: conf_settings.Settings

    def context_with(
        self,
        after_step: conf_settings.StepHook | None = None,
        **groups: dict[str, Any],
    ) -> context.RequestContext:
        """An admin context on these databases whose settings also have
        ``groups``' options set (see ``tests.fixtures.settings.make``) and
        the crash-point hook ``after_step``."""
        settings = self.settings
        if groups:
            settings = test_settings.make(
                DEFAULT={"state_path": settings.state_path},
                api_database={"connection": self.api_url},
                **groups,
            )
        if after_step is not None:
            settings = settings.replace(after_step=after_step)
        return context.get_admin_context(settings=settings)

    def cell_context(
        self, index: int, ctx: context.RequestContext | None = None
    ) -> context.RequestContext:
        with context.target_cell(ctx or self.ctx, self.cells[index]) as cctx:
            return cctx


@pytest.fixture
def db(database_set: DatabaseSet, tmp_path: Any) -> Iterator[Env]:
    settings = test_settings.make(
        DEFAULT={"state_path": str(tmp_path)},
        api_database={"connection": database_set.api_url},
    )
    # The commands a test runs in-process (reqspec-manage) read the global
    # CONF, and so do contexts made without settings: the same database.
    CONF.set_override("connection", database_set.api_url, group="api_database")
    ctx = context.get_admin_context(settings=settings)
    cells = []
    for i, url in enumerate(database_set.cell_urls, start=1):
        cell = CellMapping(ctx, name=f"cell{i}", database_connection=url)
        cell.create()
        cells.append(cell)
    yield Env(database_set.backend, database_set.api_url, ctx, cells, settings)
    _empty(database_set.api_url, api_models.APIBase.metadata)
    for url in database_set.cell_urls:
        _empty(url, cell_models.CellBase.metadata)


@pytest.fixture
def empty_database_url(
    backend: str,
    provisioners: dict[str, databases.Provisioner],  # noqa: F811
) -> Iterator[str]:
    """A brand-new empty database of its own, dropped afterwards."""
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("empty")
    yield url
    engines.dispose(url)
    provisioner.drop(url)
