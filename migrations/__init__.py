"""The alembic trees of reqspec, installed as ``reqspec.migrations``."""
