"""Registering an option group on one configuration object only."""

from collections.abc import Sequence

from oslo_config import cfg


def register(
    conf: cfg.ConfigOpts, group: cfg.OptGroup, opts: Sequence[cfg.Opt]
) -> None:
    """Register ``opts`` in a copy of ``group`` that belongs to ``conf``.

    oslo.config keeps an option's override inside the group object, and
    ``register_group`` copies the group only shallowly: two
    configurations registering the same module-level group would share
    their overrides (a test's own configuration setting
    ``[api_database] mysql_wsrep_sync_wait`` changed the next one's). The
    module-level group stays what ``list_opts`` shows the sample
    generator.
    """
    own = cfg.OptGroup(group.name, title=group.title, help=group.help)
    conf.register_group(own)
    conf.register_opts(opts, group=own)
