"""A reference conductor: build and move servers using their stored spec.

Every operation loads the spec that was stored at boot, builds a fresh
per-move request from a copy of it (``request.per_move_request``),
schedules that request and claims the chosen host, and then saves only
what lasts (a confirmed flavor, a rebuilt image). Per-move data (hosts to
ignore, an admin's target, retries, group members) lives on the copy and
dies with it.

Operations take a context on the API database and an instance uuid.
"""
