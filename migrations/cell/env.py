"""alembic environment of a cell database.

The logic is shared with the API tree in reqspec.db.migration; only the
metadata differs.
"""

from alembic import context

from reqspec.db import cell_models
from reqspec.db import migration

migration.run_environment(context, "cell", cell_models.CellBase.metadata)
