"""views: a server shown from its spec, or from its mapping alone."""

import pytest

from reqspec import context
from reqspec import exception
from reqspec.lifecycle import views
from reqspec.objects import InstanceMapping
from tests.fixtures import cloud
from tests.fixtures import settings


def test_unknown_shows_only_the_api_databases_record(db):
    cloud.add_host(db, 0, "h1")
    uuid = cloud.boot(db)
    mapping = InstanceMapping.get_by_instance_uuid(db.ctx, uuid)
    view = views.unknown(mapping, mapping.cell_mapping)
    assert view.to_dict() == {
        **dict.fromkeys(view.to_dict()),
        "uuid": uuid,
        "status": "UNKNOWN",
        "location": "cell1",
    }
    shown = views.show(db.ctx, uuid)
    assert (shown.status, shown.flavor.name) == ("ACTIVE", "small")


def test_show_waits_the_configured_time_by_default():
    ctx = context.get_admin_context(settings=settings.make())
    assert views.cell_timeout_or_default(ctx, None) == 10.0
    patient = settings.make(database={"cell_timeout": 2.5})
    ctx = context.get_admin_context(settings=patient)
    assert views.cell_timeout_or_default(ctx, None) == 2.5
    assert views.cell_timeout_or_default(ctx, 0) == 0.0
    with pytest.raises(exception.Invalid):
        views.cell_timeout_or_default(ctx, -0.1)
