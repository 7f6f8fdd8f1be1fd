"""alembic environment of the API database.

The logic is shared with the cell tree in reqspec.db.migration; only the
metadata differs.
"""

from alembic import context

from reqspec.db import api_models
from reqspec.db import migration

migration.run_environment(context, "api", api_models.APIBase.metadata)
