"""Revisions of the cell database, oldest first by down_revision."""
