"""The alembic tree of the api database."""
