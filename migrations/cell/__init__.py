"""The alembic tree of the cell database."""
