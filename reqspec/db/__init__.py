"""The database layer: tables, engines, SQL. It knows nothing of objects."""
