"""The named codes are the drivers' own, and the sets hold what they say."""

import psycopg2.errorcodes
import pymysql.constants.ER as ER

from reqspec.db import error_codes


def test_mysql_codes_are_the_drivers() -> None:
    assert error_codes.MYSQL_DEADLOCK == ER.LOCK_DEADLOCK
    assert error_codes.MYSQL_LOCK_WAIT_TIMEOUT == ER.LOCK_WAIT_TIMEOUT
    assert error_codes.MYSQL_RECORD_CHANGED == ER.CHECKREAD
    assert error_codes.MYSQL_NO_SUCH_TABLE == ER.NO_SUCH_TABLE
    assert error_codes.MYSQL_UNKNOWN_DATABASE == ER.BAD_DB_ERROR


def test_postgresql_codes_are_the_drivers() -> None:
    codes = psycopg2.errorcodes
    assert error_codes.PG_SERIALIZATION_FAILURE == codes.SERIALIZATION_FAILURE
    assert error_codes.PG_DEADLOCK_DETECTED == codes.DEADLOCK_DETECTED
    assert error_codes.PG_UNDEFINED_TABLE == codes.UNDEFINED_TABLE


def test_a_missing_table_is_not_retried() -> None:
    assert error_codes.MYSQL_NO_SUCH_TABLE not in error_codes.MYSQL_RETRY
    assert error_codes.PG_UNDEFINED_TABLE not in error_codes.PG_RETRY
