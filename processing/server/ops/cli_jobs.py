"""``till processing jobs run``."""

from __future__ import annotations

from pathlib import Path

import click

from processing.amounts import from_minor
from processing.server.ops.common import DB_OPTION, now, open_storage


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
@click.option(
    "--sms-webhook",
    default=None,
    metavar="URL",
    help="send the notices as serve does (POST {phone, text})",
)
@click.option(
    "--sms-provider",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="send the notices straight to an HTTP SMS provider, as serve --sms-provider does",
)
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
    from processing.server.sms import DevSmsSink, SmsGateway, WebhookSmsGateway
    from processing.server.sms_provider import ProviderError, load

    if sms_webhook is not None and sms_provider is not None:
        raise click.ClickException("Give --sms-webhook or --sms-provider, not both.")
    webhook = None if sms_webhook is None else WebhookSmsGateway(sms_webhook)
    if sms_provider is not None:
        try:
            provider = load(sms_provider)
        except ProviderError as exc:
            raise click.ClickException(f"--sms-provider {sms_provider}: {exc}") from None
        webhook = WebhookSmsGateway(provider.url, provider=provider)
    gateway: SmsGateway | None = webhook or (DevSmsSink() if demo else None)
    storage = open_storage(db_path)
    try:
        result = run(storage, now(), gateway, notify_days)
    finally:
        storage.close()
        if webhook is not None:
            webhook.close()  # the queued notices are sent before the command ends
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
