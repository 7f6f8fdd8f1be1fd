"""Settings: a configuration read once into frozen values."""

import dataclasses
import os

from oslo_config import cfg
import pytest

import reqspec.conf
from reqspec.conf import settings as conf_settings
from tests.fixtures import settings as test_settings


def _from_file(tmp_path: object, text: str) -> conf_settings.Settings:
    path = os.path.join(str(tmp_path), "reqspec.conf")
    with open(path, "w") as f:
        f.write(text)
    conf = cfg.ConfigOpts()
    reqspec.conf.register_opts(conf)
    conf(["--config-file", path], project="reqspec", default_config_files=[])
    return conf_settings.Settings.from_conf(conf)


def test_what_a_configuration_file_says_is_read_once(tmp_path) -> None:
    settings = _from_file(
        tmp_path,
        "[DEFAULT]\nstate_path = /srv/state\n"
        "[api_database]\nconnection = sqlite:////srv/api.db\n"
        "[database]\ncell_pool_size = 3\ncell_pool_idle_timeout = 0\n"
        "max_pool_size = 12\ncell_timeout = 4\n"
        "[scheduler]\nmax_attempts = 5\nram_weight_multiplier = -1\n"
        "default_availability_zone = az9\n"
        "[conductor]\nheal_after = 7\ntopic = c\n"
        "[request_spec]\nmax_document_bytes = 4096\n"
        "[upgrade_levels]\nscheduler = 1.0\n",
    )
    assert settings.state_path == "/srv/state"
    database = settings.database
    assert database.api_connection == "sqlite:////srv/api.db"
    assert not database.api_connection_is_default
    assert database.cell_timeout == 4.0
    # [database]'s oslo.db options tune every engine; cell_* the cells'.
    assert database.api_engine.max_pool_size == 12
    assert database.cell_engine.max_pool_size == 3
    assert database.cell_engine.idle_timeout is None  # 0: never
    assert database.api_engine.connect_timeout is None
    assert database.cell_engine.connect_timeout == 10
    assert settings.scheduler.max_attempts == 5
    assert settings.scheduler.ram_weight_multiplier == -1.0
    assert settings.scheduler.default_availability_zone == "az9"
    assert (settings.conductor.heal_after, settings.conductor.topic) == (
        7.0,
        "c",
    )
    assert settings.request_spec.max_document_bytes == 4096
    assert settings.upgrade_levels == conf_settings.UpgradeLevels(
        conductor=None, scheduler="1.0"
    )
    assert settings.after_step is None


def test_the_api_database_defaults_to_a_file_in_the_state_path(
    tmp_path,
) -> None:
    database = test_settings.make(
        DEFAULT={"state_path": str(tmp_path)}
    ).database
    assert database.api_connection == conf_settings.sqlite_url(
        os.path.join(str(tmp_path), "api.sqlite")
    )
    assert database.api_connection_is_default
    # Which engine settings a URL gets: the API database's, else a cell's.
    assert database.engine_for(database.api_connection) is database.api_engine
    assert database.engine_for("sqlite:////c.db") is database.cell_engine


@pytest.mark.parametrize(
    ("api", "cells", "expected"),
    [
        (None, None, (3, 3)),
        (None, 1, (1, 1)),
        (7, 1, (7, 1)),
        (0, None, (0, 3)),
    ],
)
def test_wsrep_sync_wait_falls_back_from_api_to_database_to_3(
    api, cells, expected
) -> None:
    database = test_settings.make(
        api_database={"mysql_wsrep_sync_wait": api},
        database={"mysql_wsrep_sync_wait": cells},
    ).database
    assert (
        database.api_engine.mysql_wsrep_sync_wait,
        database.cell_engine.mysql_wsrep_sync_wait,
    ) == expected


def test_settings_are_frozen_and_copied_with_changes() -> None:
    settings = conf_settings.defaults()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.state_path = "/elsewhere"  # type: ignore[misc]
    moved = settings.with_api_connection("sqlite:////other.db")
    assert moved.database.api_connection == "sqlite:////other.db"
    assert settings.database.api_connection != "sqlite:////other.db"
    # Equal settings share engines: the hook is not part of equality.
    assert settings.replace(after_step=print) == settings


def test_an_invalid_value_is_refused_when_resolved(tmp_path) -> None:
    with pytest.raises(cfg.ConfigFileValueError):
        _from_file(tmp_path, "[scheduler]\nmax_attempts = 0\n")


def test_configurations_do_not_share_overrides() -> None:
    # oslo.config keeps overrides in the option group, and copies a
    # registered group only shallowly: each configuration must get its own.
    first = test_settings.make(api_database={"mysql_wsrep_sync_wait": 7})
    second = test_settings.make(database={"mysql_wsrep_sync_wait": 1})
    assert first.database.api_engine.mysql_wsrep_sync_wait == 7
    assert second.database.api_engine.mysql_wsrep_sync_wait == 1
    assert conf_settings.new_conf().api_database.mysql_wsrep_sync_wait is None
