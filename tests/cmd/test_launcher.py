"""Starting services and waiting for them: a service that dies before
answering is reported with its exit status and its log."""

import configparser
import sys

import pytest

from reqspec import exception
from reqspec.cmd import launcher


def test_a_config_file_holds_every_group(tmp_path) -> None:
    path = launcher.write_config(
        str(tmp_path / "x.conf"),
        {"DEFAULT": {"transport_url": "fake://"}, "conductor": {"workers": 2}},
    )
    parser = configparser.ConfigParser()
    parser.read(path)
    assert parser["DEFAULT"]["transport_url"] == "fake://"
    assert parser["conductor"]["workers"] == "2"


def test_a_service_that_dies_is_reported_with_its_log(tmp_path) -> None:
    config = launcher.write_config(str(tmp_path / "x.conf"), {})
    script = "import sys; print('cannot start: no database'); sys.exit(3)"
    with launcher.Services(config, str(tmp_path)) as services:
        service = services.start("conductor", [sys.executable, "-c", script])
        with pytest.raises(exception.ServiceUnavailable) as caught:
            services.wait_ready(timeout=30)
    assert f"pid {service.pid}" in caught.value.message
    assert "exited with status 3" in caught.value.message
    assert "cannot start: no database" in caught.value.message
