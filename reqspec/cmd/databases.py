"""Which databases a command uses, said before it uses them.

Every command prints one ``using ...`` line per database on stdout before
touching it, so a forgotten ``--config-file`` or a misspelt section (which
oslo.config ignores) shows at once as the default SQLite file in the state
path. Only ``db sync`` may create a database; every other command refuses
a missing one (``DatabaseNotFound``) instead of creating an empty file.
"""

from reqspec import conf
from reqspec import context
from reqspec import exception
from reqspec.cmd import output
from reqspec.conf import settings as conf_settings
from reqspec.db import urls
from reqspec.objects import CellMapping

CONF = conf.CONF

API_LABEL = "the API database"


def _unknown_sections() -> list[str]:
    known = set(CONF.keys()) | {"DEFAULT"}
    return sorted(s for s in CONF.list_all_sections() if s not in known)


def _api_source(settings: conf_settings.Settings) -> str:
    if not settings.database.api_connection_is_default:
        return "[api_database] connection"
    why = [
        "no [api_database] connection: the default in " + settings.state_path
    ]
    if not CONF.config_file and not CONF.config_dir:
        why.append("no --config-file given")
    unknown = _unknown_sections()
    if unknown:
        why.append(
            "unknown section(s) ignored: "
            + ", ".join(f"[{s}]" for s in unknown)
        )
    return "; ".join(why)


def api_url(create: bool = False) -> str:
    """The API database URL, announced; unless ``create``, it must exist
    and answer (one connection: a missing database is then named as such
    whatever the command does first)."""
    settings = conf_settings.get_default()
    url = settings.database.api_connection
    output.using(API_LABEL, urls.mask(url), _api_source(settings))
    if create:
        urls.check(url, API_LABEL)
    else:
        urls.verify(url, API_LABEL)
    return url


def announce_cell(cell: CellMapping) -> None:
    output.using(cell.identity, cell.masked_connection)


def cells(ctx: context.RequestContext) -> list[CellMapping]:
    """Every cell mapping, each announced. A broken mapping (bad URL,
    missing database) is still returned: the caller reports it per cell."""
    found = CellMapping.get_all(ctx)
    for cell in found:
        announce_cell(cell)
    return found


def check_cell(cell: CellMapping) -> None:
    """``InvalidDatabaseURL``/``DatabaseNotFound`` for a mapping a
    command cannot use, before any engine could create its file."""
    urls.check_exists(cell.database_connection, cell.identity)


def cell_error(cell: CellMapping, err: exception.ReqspecError) -> str:
    """One line naming the cell, and the command that repairs a mapping."""
    message = err.message
    if isinstance(err, exception.InvalidDatabaseURL):
        message += (
            f"; repair it with 'reqspec-manage cell update {cell.uuid} "
            "--connection URL'"
        )
    return message
