"""reqspec-manage heal finishes what a crashed conductor left."""

import pytest

from reqspec import compute_api
from reqspec.cmd import manage
from reqspec.conductor import build
from tests.fixtures import cloud


class Crash(Exception):
    pass


@pytest.mark.backends("sqlite", "postgresql")
def test_heal_finishes_an_interrupted_build(db, capsys):
    cloud.add_host(db, 1, "b1")
    uuid = cloud.create(db)
    waiting = cloud.create(db)

    def crash(done_uuid, step):
        if step == "written":
            raise Crash()

    with pytest.raises(Crash):
        build.build_server(db.context_with(after_step=crash), uuid)
    assert cloud.spec_counts(db)[uuid] == 2  # both copies, mid-move

    assert manage.main(["heal"]) == 0
    out = capsys.readouterr().out
    assert f"| {uuid} | finished |" in out
    assert "1 server(s) wait to be built" in out
    cloud.assert_settled(db, [uuid, waiting])
    assert compute_api.show_server(db.ctx, uuid).location == "cell2"

    assert manage.main(["heal"]) == 0
    assert "no interrupted moves" in capsys.readouterr().out
