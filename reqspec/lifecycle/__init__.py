"""A server's spec through its life: API database, cells, and back.

``transfer`` carries a spec (and the server's row) from one database to
another in recorded, idempotent steps; ``heal`` finishes moves that a
crash interrupted; ``demo`` is the scenario behind
``reqspec-manage demo``.
"""
