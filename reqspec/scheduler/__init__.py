"""A reference scheduler that reads the stored spec.

``Scheduler.select_destination`` loads every compute node of every cell
(capacity from the cell databases, usage added up from the cells'
servers), looks up the server group's members afresh, runs the filters
and the weighers, and returns a ``Selection`` that says why the host won.
Nothing here writes: claiming the chosen host is the conductor's job.
"""
