"""Migration 0003 (sqlite-utils migration m003_claims before Alembic)."""

from processing.server.migrations.dialect import run

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Checks made without a customer, waiting under their claim code for a member to redeem
    # them (processing.server.claims). ``lines`` are the wire lines as sent; ``calculation``
    # the base-tier calculation (earn_at_least, and returns before redemption); ``returned``
    # the quantities given back before redemption ({line index: quantity}); ``redeemed`` the
    # stored ClaimRedeemed answer. "expired" is never stored: an open claim past expires_at.
    run(
        """CREATE TABLE claims (
        code TEXT PRIMARY KEY, check_id TEXT NOT NULL UNIQUE,
        store_id TEXT NOT NULL, till_id TEXT NOT NULL, lines TEXT NOT NULL,
        calculation TEXT NOT NULL, earn_at_least INTEGER NOT NULL,
        made_at INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open', returned TEXT NOT NULL DEFAULT '{}',
        redeemed_by TEXT REFERENCES members, redeemed_at INTEGER, redeemed TEXT)"""
    )
    # Returns against a claim not redeemed yet (no member, no points): their answers, for a
    # repeated return id. Moved into ``returns`` when the claim is redeemed.
    run(
        """CREATE TABLE claim_returns (
        id TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES claims, lines TEXT NOT NULL,
        created_at INTEGER NOT NULL, result TEXT NOT NULL)"""
    )
    run("CREATE INDEX claim_returns_code ON claim_returns (code)")
