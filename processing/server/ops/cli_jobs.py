"""``till processing jobs run``."""

from __future__ import annotations

from pathlib import Path

import click

from processing.amounts import from_minor
from processing.server.ops.common import DB_OPTION, now, open_storage
from processing.server.sms_options import sms_options, sms_spec


@click.group()
def jobs() -> None:
    """Scheduled work: run from cron or a systemd timer (safe to run twice at once)."""


@jobs.command("run")
@click.option(
    "--notify-days",
    default=7,
    show_default=True,
    type=click.IntRange(0, 365),
    help="tell members of points expiring within this many days, once per lot (0: never)",
)
@sms_options("the notices")
@click.option(
    "--demo",
    is_flag=True,
    help="a demo database: notices go to the development SMS outbox (`till processing codes`)",
)
@DB_OPTION
def run_jobs(
    notify_days: int,
    sms_webhook: str | None,
    sms_provider: Path | None,
    demo: bool,
    db_path: str,
) -> None:
    """Burn expired lots into the ledger, release holds past their expiry, send expiry
    notices."""
    from processing.server.ops.jobs import run
    from processing.server.sms import (
        DEMO_SPEC,
        DevSmsSink,
        SmsGateway,
        WebhookSmsGateway,
        gateway_for,
    )

    spec = sms_spec(sms_webhook, demo, sms_provider)
    # The demo outbox without logging: notices are not codes a demo user must be shown.
    gateway: SmsGateway | None = (
        None if spec is None else DevSmsSink() if spec == DEMO_SPEC else gateway_for(spec)
    )
    storage = open_storage(db_path)
    try:
        result = run(storage, now(), gateway, notify_days)
    finally:
        storage.close()
        if isinstance(gateway, WebhookSmsGateway):
            gateway.close()  # the queued notices are sent before the command ends
    click.echo(
        f"Burnt {result.lots_burnt} expired lots ({from_minor(result.points_burnt)} points) of"
        f" {result.members} members; released {result.holds_released} stale holds;"
        f" told {result.notices} members of points about to expire."
    )
    if gateway is None and notify_days:
        click.echo(
            "Expiry notices not sent: give --sms-webhook URL (or --demo for the development"
            " outbox).",
            err=True,
        )
