"""Migration ${up_revision}: ${message}"""

from processing.server.migrations.dialect import run

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    run("")
