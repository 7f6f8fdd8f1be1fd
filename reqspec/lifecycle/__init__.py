"""A server's spec through its life: API database, cells, and back.

``transfer`` carries a spec (and the server's row) from one database to
another in recorded, idempotent steps; ``heal`` finishes moves that a
crash interrupted; ``listing`` and ``views`` show servers wherever their
spec is. The conductor and the compute API build on this package; it
imports neither.
"""
