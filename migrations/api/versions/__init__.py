"""Revisions of the api database, oldest first by down_revision."""
