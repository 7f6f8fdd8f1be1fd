"""PostgreSQL and MySQL/MariaDB engines: oslo.db's, with two changes.

Instead of a ping before every transaction, only a connection that sat
idle in the pool is pinged before reuse. On a Galera node (MariaDB with
``wsrep_on``), every new connection sets ``wsrep_sync_wait``: a read,
UPDATE or DELETE then waits until the node has applied every write the
cluster committed before it, so a spec saved through one node is read
back through any other. oslo.db would set it on any MySQL server, and a
server without Galera may not know the variable at all.
"""

import time
from typing import Any

import sqlalchemy as sa


def create_server_engine(
    url: sa.engine.URL, wsrep_sync_wait: int, **engine_args: Any
) -> tuple[sa.engine.Engine, sa.engine.Engine]:
    """What oslo.db's ``create_engine`` calls to make the engine (its
    ``_engine_target``), given the arguments it worked out."""
    # oslo.db asks for pool_pre_ping, a SELECT 1 round trip before every
    # transaction: on a local PostgreSQL that is a third of the time of a
    # one-row read. Ping only connections that sat idle long enough for a
    # server restart or a firewall to have dropped them; a connection lost
    # in between still fails cleanly (DatabaseUnavailable) and SQLAlchemy
    # then replaces the whole pool.
    engine_args["pool_pre_ping"] = False
    engine_args["pool_use_lifo"] = True
    engine = sa.create_engine(url, **engine_args)
    _ping_when_idle(engine)
    if engine.dialect.name == "mysql":
        _sync_wait_on_galera(engine, wsrep_sync_wait)
    return engine, engine


def _sync_wait_on_galera(engine: sa.engine.Engine, sync_wait: int) -> None:
    error = engine.dialect.loaded_dbapi.Error

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, record: Any) -> None:
        cursor = dbapi_con.cursor()
        try:
            try:
                # MySQL without wsrep does not know the variable.
                cursor.execute("SELECT @@GLOBAL.wsrep_on")
                galera = bool(cursor.fetchone()[0])
            except error:
                galera = False
            record.info["galera"] = galera
            if galera:
                cursor.execute("SET SESSION wsrep_sync_wait = %s", [sync_wait])
        finally:
            cursor.close()


#: Seconds a pooled server connection may sit unused and still be handed
#: out without a ping.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: sa.engine.Engine) -> None:
    dialect = engine.dialect

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_con: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_con: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None:
            return  # just connected
        if time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_con)
        except dialect.loaded_dbapi.Error as err:
            # The pool retries the checkout on a new connection.
            raise sa.exc.DisconnectionError(str(err)) from err
