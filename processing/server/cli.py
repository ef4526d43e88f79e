"""``till processing …``: serve, seed, add-till, codes, member-qr.

Every failure exits non-zero with one line naming the problem.
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from processing.server.readlimit import ReadLimit

# Unlike the operator's commands, these create a missing SQLite file (seed makes the first
# one): must_exist=False throughout.
from processing.server.ops.common import open_storage, read_from, write_to
from processing.server.sms_options import sms_options, sms_spec

DB_OPTION = click.option(
    "--db",
    "db_path",
    default="processing.db",
    show_default=True,
    help="the server's database: an SQLite file, or postgresql://user@host:port/dbname (a"
    " password is best kept out of the command line: PGPASSWORD or ~/.pgpass)",
)


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


def _zone(name: str) -> tzinfo:
    """The IANA timezone ``name``; anything else is one line and a non-zero exit."""
    from processing.server import zones

    try:
        return zones.load(name)
    except zones.UnknownTimezone as exc:
        raise click.ClickException(exc.reason) from None


@click.group()
def processing() -> None:
    """The reference loyalty processing server."""


@processing.command()
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the bound port here once listening (useful with --port 0)",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="server processes sharing the port and the database (writes stay serialised)",
)
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="IANA timezone of stores without their own (add-till --timezone): the calendar day"
    " their promotions, birthdays and message dates follow",
)
@sms_options("SMS codes")
@click.option(
    "--demo",
    is_flag=True,
    help="a demo server: SMS codes go to the development sink (kept in the database, shown by"
    " `till processing codes`, logged) and the published demo QR key is accepted",
)
@click.option(
    "--ssl-certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="serve HTTPS with this certificate (PEM; with --ssl-keyfile)",
)
@click.option(
    "--ssl-keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="the certificate's private key (PEM)",
)
@click.option(
    "--till-read-rate",
    default=50.0,  # readlimit.DEFAULT_RATE (a test keeps them equal)
    show_default=True,
    type=float,
    metavar="READS",
    help="reads (identify, calculate, deltas) a second each till gets back once its burst is"
    " spent; more are refused 429 with Retry-After (per server process; 0 = no limit)",
)
@click.option(
    "--till-read-burst",
    default=100,  # readlimit.DEFAULT_BURST
    show_default=True,
    type=int,
    metavar="READS",
    help="reads each till may make at once before --till-read-rate applies",
)
def serve(
    db_path: str,
    host: str,
    port: int,
    port_file: Path | None,
    workers: int,
    timezone: str,
    sms_webhook: str | None,
    sms_provider: Path | None,
    demo: bool,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    till_read_rate: float,
    till_read_burst: int,
) -> None:
    """Serve the processing API over HTTP (HTTPS with --ssl-certfile and --ssl-keyfile)."""
    from loyalty.program import DEMO_QR_PRIVATE_KEY
    from processing.server.context import QR_PRIVATE_KEY_SETTING, ServerContext
    from processing.server.runner import Tls
    from processing.server.runner import serve as run
    from processing.server.sms import DEMO_SPEC, gateway_for
    from processing.server.storage import get_setting

    zone = _zone(timezone)
    reads = _read_limit(till_read_rate, till_read_burst)
    sms = sms_spec(sms_webhook, demo, sms_provider)
    if sms is None:
        raise click.ClickException(
            "No SMS gateway: give --sms-webhook URL or --sms-provider FILE; the development sink"
            " (codes kept in the database) is for demos only (--demo)."
        )
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise click.ClickException("Give both --ssl-certfile and --ssl-keyfile, or neither.")
    tls = None if ssl_certfile is None or ssl_keyfile is None else Tls(ssl_certfile, ssl_keyfile)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    storage = open_storage(db_path, must_exist=False)
    with storage.read() as db:
        if db.execute("SELECT COUNT(*) FROM programs").fetchone()[0] == 0:
            storage.close()
            raise click.ClickException(
                f"{storage.target} has no loyalty program; run `till processing seed` first."
            )
        published = get_setting(db, QR_PRIVATE_KEY_SETTING) == DEMO_QR_PRIVATE_KEY
    if published and sms != DEMO_SPEC:
        storage.close()
        raise click.ClickException(
            f"{storage.target} signs QR codes with the published demo QR key; seed a fresh database"
            " without --demo for a real program (or serve this one with --demo)."
        )
    ctx = ServerContext(storage=storage, timezone=zone, sms=gateway_for(sms), reads=reads)
    try:
        run(ctx, host, port, port_file, workers=workers, sms=sms, tls=tls)
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {exc.strerror}") from None


def _read_limit(rate: float, burst: int) -> ReadLimit:
    """Each till's read allowance from the serve options; a nonsense value stops ``serve`` with
    its one sentence."""
    from processing.server.readlimit import DEFAULT_BURST, ReadLimit

    try:
        ReadLimit(rate, DEFAULT_BURST)
    except ValueError as exc:
        raise click.ClickException(f"--till-read-rate {rate}: {exc}") from None
    try:
        return ReadLimit(rate, burst)
    except ValueError as exc:
        raise click.ClickException(f"--till-read-burst {burst}: {exc}") from None


@processing.command()
@DB_OPTION
@click.option("--demo", is_flag=True, help="demo program, catalog and named members")
@click.option("--members", default=0, show_default=True, type=click.IntRange(0, 5_000_000))
def seed(db_path: str, demo: bool, members: int) -> None:
    """Create the program (and with --demo, a catalog and demo members; the demo store gets
    this machine's timezone unless it has one or the machine's is UTC)."""
    from processing.server import seed as seeding
    from processing.server import zones

    now = _now()
    local = zones.machine_timezone() if demo else None
    with write_to(db_path, must_exist=False) as db:
        if demo:
            counts = seeding.seed_demo(db, now, generated=members, timezone=local)
        else:
            seeding.seed_program(db, now, demo=False)
            counts = {"generated_members": seeding.seed_generated(db, members, now)}
        zone = zones.store_timezone(db, seeding.DEMO_STORE) if demo else None
    click.echo(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))
    if demo:
        shown = zone or "the server's default (serve --timezone)"
        click.echo(f"demo store {seeding.DEMO_STORE} timezone: {shown}")


@processing.command("add-till")
@DB_OPTION
@click.option("--store", "store_id", required=True)
@click.option("--till", "till_id", required=True)
@click.option(
    "--timezone",
    default=None,
    help="IANA timezone of the store (e.g. Europe/Moscow), set or changed for all its tills;"
    " 'local': this machine's, when it names one; without it the store keeps its own, or the"
    " server's default (serve --timezone)",
)
def add_till(db_path: str, store_id: str, till_id: str, timezone: str | None) -> None:
    """Register a till and print its new API key (shown only once)."""
    from processing.server.auth import add_till as add
    from processing.server.zones import machine_timezone

    if timezone == "local":  # the demo's: its till and server share this machine's clock
        timezone = machine_timezone()
    if timezone is not None:
        _zone(timezone)  # refused before the database is even opened
    with write_to(db_path, must_exist=False) as db:
        key = add(db, store_id, till_id, _now(), timezone)
    click.echo(key)


@processing.command()
@DB_OPTION
def migrate(db_path: str) -> None:
    """Bring the database's schema to this version's (every command does so when it opens
    one; this one does only that) and print its revision."""
    from processing.server.migrate import HEAD

    storage = open_storage(db_path, must_exist=False)
    storage.close()
    click.echo(f"{storage.target}: schema revision {HEAD}")


@processing.command()
@DB_OPTION
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
def codes(db_path: str, limit: int) -> None:
    """Show the latest SMS codes of the development sink."""
    from processing.server.codes import latest_codes

    with read_from(db_path, must_exist=False) as db:
        rows = latest_codes(db, limit)
    if not rows:
        click.echo("No codes sent yet.")
    for row in rows:
        at = datetime.fromtimestamp(int(row["created_at"]), UTC).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{at}  {row['phone']}  {row['code']}")


@processing.command("member-qr")
@DB_OPTION
@click.argument("phone")
@click.option("--region", default="RU", show_default=True)
def member_qr(db_path: str, phone: str, region: str) -> None:
    """Print a fresh QR token for the member with PHONE and draw it in the terminal."""
    import qrcode

    from loyalty.errors import InvalidPhone
    from loyalty.phones import normalize_phone
    from loyalty.qrtoken import issue_token
    from processing.server import members
    from processing.server.context import QR_PRIVATE_KEY_SETTING
    from processing.server.storage import get_setting

    try:
        e164 = normalize_phone(phone, region)
    except InvalidPhone as exc:
        raise click.ClickException(exc.reason) from None
    with read_from(db_path, must_exist=False) as db:
        member = members.by_phone(db, e164)
        private = get_setting(db, QR_PRIVATE_KEY_SETTING)
    if member is None:
        raise click.ClickException("No member has this phone number.")
    if private is None:
        raise click.ClickException("The database has no QR key; run `till processing seed`.")
    token = issue_token(member.id, datetime.now(UTC), private)
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(token)
    qr.make(fit=True)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    click.echo(out.getvalue())
    click.echo(token)


def main() -> None:
    """Entry point of ``python -m processing.server``."""
    processing(prog_name="python -m processing.server")


def _mount_operator_commands() -> None:
    # The operator's side (program files, imports, books, jobs) lives in processing.server.ops.
    from processing.server.ops.cli import COMMANDS

    for command in COMMANDS:
        processing.add_command(command)


_mount_operator_commands()
