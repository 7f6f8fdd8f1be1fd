"""Connection string checks shared by the commands (reqspec.db.urls)."""

import importlib.util
import os

import pytest
import sqlalchemy as sa

from reqspec import exception
from reqspec.db import urls
from tests.fixtures import databases

#: Drivers SQLAlchemy knows whose package is not a dependency of reqspec.
_OPTIONAL_DRIVERS = {
    "postgresql+pg8000": "pg8000",
    "mysql+mysqldb": "MySQLdb",
    "postgresql+asyncpg": "asyncpg",
    "mysql+mysqlconnector": "mysql.connector",
}


def missing_driver() -> str:
    """A dialect+driver whose driver package is not installed here."""
    for drivername, module in _OPTIONAL_DRIVERS.items():
        if importlib.util.find_spec(module.split(".")[0]) is None:
            return drivername
    raise AssertionError("every optional driver is installed")


@pytest.mark.parametrize(
    "url", ["notaurl", "", "://x", "postgresql://u@h:notaport/db"]
)
def test_not_a_url(url: str) -> None:
    with pytest.raises(exception.InvalidDatabaseURL) as caught:
        urls.parse(url, "cell x")
    assert caught.value.message.startswith("cell x: ")
    assert "is not a database URL" in caught.value.message
    assert urls.mask(url) == "<not a database URL>"


def test_a_server_url_must_name_a_database() -> None:
    with pytest.raises(exception.InvalidDatabaseURL, match="names no"):
        urls.parse("postgresql+psycopg2://u:secret@h", "cell x")
    assert urls.parse("sqlite://", "x").database is None  # in memory


def test_mask_hides_the_password() -> None:
    masked = urls.mask("mysql+pymysql://nova:secret@db/nova_api")
    assert "secret" not in masked and "nova:***@db/nova_api" in masked


def test_unknown_dialect_and_missing_driver() -> None:
    with pytest.raises(exception.InvalidDatabaseURL, match="no dialect"):
        urls.check("nosuchdb://u@h/d", "cell x")
    drivername = missing_driver()
    with pytest.raises(exception.InvalidDatabaseURL, match="not installed"):
        urls.check(f"{drivername}://u@h/d", "cell x")


def test_a_missing_sqlite_file_is_not_created(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "nope.sqlite")
    url = "sqlite:///" + path
    with pytest.raises(exception.DatabaseNotFound, match="does not exist"):
        urls.check_exists(url, "the API database")
    with pytest.raises(exception.DatabaseNotFound):
        urls.verify(url, "cell x")
    urls.verify(url, "cell x", may_create=True)  # its directory exists
    with pytest.raises(exception.DatabaseNotFound):
        urls.verify(
            "sqlite:////nonexistent-dir/x.sqlite", "x", may_create=True
        )
    assert not os.path.exists(path)


@pytest.mark.backends("postgresql", "mysql")
def test_verify_a_server_database(
    backend: str, provisioners: dict[str, databases.Provisioner]
) -> None:
    provisioner = databases.provisioner_for(provisioners, backend)
    url = provisioner.create("urls")
    try:
        urls.verify(url, "cell x")
        missing = sa.engine.make_url(url).set(database="reqspec_never_made")
        text = missing.render_as_string(hide_password=False)
        with pytest.raises(exception.DatabaseNotFound) as caught:
            urls.verify(text, "cell x")
        assert "reqspec_never_made" in caught.value.message
        refused = sa.engine.make_url(url).set(port=1)
        with pytest.raises(exception.DatabaseUnavailable) as unavailable:
            urls.verify(refused.render_as_string(hide_password=False), "x")
        assert not isinstance(unavailable.value, exception.DatabaseNotFound)
    finally:
        provisioner.drop(url)
