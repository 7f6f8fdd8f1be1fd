"""The database servers' error codes reqspec acts on, named once.

Drivers report MySQL/MariaDB errors as a number in ``args[0]`` and
PostgreSQL errors as a five-character SQLSTATE in ``pgcode``; oslo.db
classifies only some of them, so ``transactions`` and ``urls`` look at
the codes themselves.
"""

# MySQL/MariaDB (pymysql.constants.ER).
#: ER_LOCK_DEADLOCK; also how Galera reports a certification failure.
MYSQL_DEADLOCK = 1213
#: ER_LOCK_WAIT_TIMEOUT.
MYSQL_LOCK_WAIT_TIMEOUT = 1205
#: ER_CHECKREAD: MariaDB's "record has changed since last read" (snapshot
#: isolation, 11.6+).
MYSQL_RECORD_CHANGED = 1020
#: ER_NO_SUCH_TABLE.
MYSQL_NO_SUCH_TABLE = 1146
#: ER_BAD_DB_ERROR: the database named in the URL does not exist.
MYSQL_UNKNOWN_DATABASE = 1049

# PostgreSQL SQLSTATEs (psycopg2.errorcodes).
#: serialization_failure.
PG_SERIALIZATION_FAILURE = "40001"
#: deadlock_detected.
PG_DEADLOCK_DETECTED = "40P01"
#: undefined_table.
PG_UNDEFINED_TABLE = "42P01"

#: A transaction the server aborted and rolled back whole, which running
#: it again may get through.
MYSQL_RETRY = frozenset(
    {MYSQL_DEADLOCK, MYSQL_LOCK_WAIT_TIMEOUT, MYSQL_RECORD_CHANGED}
)
PG_RETRY = frozenset({PG_SERIALIZATION_FAILURE, PG_DEADLOCK_DETECTED})
