"""``till demo``: the whole till on one machine with nothing attached.

Starts the reference processing server as a subprocess on loopback (the terminal never
imports the server), seeded with the demo program and members in a fresh temporary database,
registers this till for a key, makes a cashier, a manager PIN, a pty scanner and a file
printer whose receipts the UI shows, prints how to use them, and opens the UI. Stopping the UI
stops the server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from terminal.config import ENV_DELIMITER, ENV_PREFIX, Settings
from terminal.pins import hash_pin

DEMO_CASHIER = ("1", "1111")
"""Cashier id and PIN the demo creates."""
DEMO_MANAGER_PIN = "9999"
"""The demo's manager PIN (admin screen, quitting)."""
DEMO_PHONES = (
    "+79161234567",
    "+79161234568",
    "+79161234569",
    "+79161234570",
    "+79161234571",
    "+79161234572",
    "+380501234567",
    "+77011234567",
)
"""Seeded members worth trying; the intro describes each from the server's own answer."""
OWNED = {
    "processing": ("url", "api_key", "api_key_env"),
    "offline": ("db_path", "spend_enabled"),
    "printer": ("kind", "path"),
    "scanner": ("kind", "port", "suffix", "baudrate"),
    "security": ("admin_pin_hash",),
}
"""The settings the demo sets itself (section → keys); no TILL_* variable may change them."""
STARTUP_TIMEOUT_S = 30.0


class DemoError(Exception):
    """The demo could not start; ``str()`` is one line for the terminal."""


@dataclass
class DemoEnvironment:
    """A running demo server and everything the till needs to talk to it."""

    directory: Path
    url: str
    api_key: str
    server: subprocess.Popen[bytes]
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 5 s) and run the other clean-ups."""
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=5)
        for step in reversed(self.cleanup):
            step()


def _till(*args: str, timeout: float = 60) -> str:
    """Run ``till ARGS`` in a child interpreter; raises DemoError with its last line."""
    result = subprocess.run(
        [sys.executable, "-m", "terminal", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DemoError(f"`till {' '.join(args[:2])}` failed: {last}")
    return result.stdout


def start_server(directory: Path, store_id: str, till_id: str) -> DemoEnvironment:
    """Seed a fresh server database in ``directory`` and serve it on a free loopback port."""
    db = directory / "processing.sqlite3"
    port_file = directory / "server.port"
    _till("processing", "seed", "--demo", "--db", str(db))
    key = _till(
        "processing", "add-till", "--store", store_id, "--till", till_id, "--timezone", "local",
        "--db", str(db),
    )  # fmt: skip
    log = (directory / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "terminal",
            "processing",
            "serve",
            "--db",
            str(db),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--demo",  # the development SMS sink and the published demo QR key
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    env = DemoEnvironment(directory, "", key.strip().splitlines()[-1], server, [log.close])
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not (port_file.exists() and port_file.read_text().strip()):
        if server.poll() is not None or time.monotonic() > deadline:
            env.stop()
            raise DemoError(f"The demo server did not start; see {directory / 'server.log'}.")
        time.sleep(0.05)
    env.url = f"http://127.0.0.1:{int(port_file.read_text().strip())}"
    return env


def drop_owned_environment(environ: MutableMapping[str, str]) -> list[str]:
    """Remove the ``TILL_*`` variables that would override :data:`OWNED` settings (a section's
    key, or a whole owned section as JSON); returns their names for the intro to say so.

    Call it before any Settings are built: the demo's own server, database and devices must
    not be replaced by variables left in the shell (a ``TILL_SCANNER__KIND=none`` would
    silently ignore every scan into the pty the intro points at).
    """
    owned = {(ENV_PREFIX + section).lower() for section in OWNED}
    owned |= {
        (ENV_PREFIX + section + ENV_DELIMITER + key).lower()
        for section, keys in OWNED.items()
        for key in keys
    }
    dropped = sorted(name for name in environ if name.lower() in owned)
    for name in dropped:
        del environ[name]
    return dropped


def demo_settings(
    base: Settings, env: DemoEnvironment, language: str, scanner_port: str
) -> Settings:
    """``base`` with the demo's server, key, database, file printer, pty scanner and PIN."""
    data = base.as_dict()
    data["processing"].update(url=env.url, api_key=env.api_key, api_key_env=None)
    data["offline"].update(db_path=str(env.directory / "till.sqlite3"), spend_enabled=True)
    data["printer"].update(kind="file", path=str(env.directory / "receipts.bin"))
    data["scanner"].update(kind="serial", port=scanner_port, suffix="cr", baudrate=9600)
    data["security"].update(admin_pin_hash=hash_pin(DEMO_MANAGER_PIN))
    data["till"].update(language=language)
    return Settings(**data)


def describe_members(settings: Settings) -> list[str]:
    """One line per :data:`DEMO_PHONES` member, from the demo server's identify answers."""
    from processing.client import ProcessingClient
    from processing.errors import ProcessingError

    lines = []
    with ProcessingClient(
        settings.processing.url, settings.processing.resolved_api_key() or ""
    ) as c:
        for phone in DEMO_PHONES:
            try:
                found = c.identify(phone, kind="phone", region=settings.till.region)
            except ProcessingError as error:
                lines.append(f"{phone:<15} ({error})")
                continue
            member, tier = found.member, found.member.tier
            about = [member.state.replace("_", " "), f"{tier.name} tier {tier.rate_percent:f}%"]
            if member.birthday_window:
                about.append("birthday rate now")
            about.append(f"{found.balance.available:,.0f} points".replace(",", " "))
            if found.coupons:
                about.append(f"coupon {found.coupons[0].code}")
            if found.offers:
                about.append("an offer")
            lines.append(f"{phone:<15} {', '.join(about)}")
    return lines


def introduction(
    settings: Settings,
    env: DemoEnvironment,
    feed_path: str,
    token: str,
    *,
    members: list[str],
    ignored: list[str],
) -> str:
    """What the demo prints before the UI opens (``ignored``: variables it overrode)."""
    phones = "\n".join(f"    {line}" for line in members)
    note = (
        "\n  Ignored (the demo sets these itself): " + ", ".join(ignored) + "\n" if ignored else ""
    )
    bridge = settings.bridge
    register = (
        f"""
  The cash register's bridge listens on http://{bridge.host}:{bridge.port} (BRIDGE.md); play a
  register from another terminal:
    uv run till bridge simulate --generate 30 --identify +79161234567 --spend max --refund 3:1
"""
        if bridge.enabled
        else ""
    )
    return f"""till demo — server {env.url} (data in {env.directory})
{note}
  Log in as cashier {DEMO_CASHIER[0]}, PIN {DEMO_CASHIER[1]}. Manager PIN: {DEMO_MANAGER_PIN}.
  Type a phone (or scan), Enter; type an amount, Enter; Enter again confirms and prints.
  No customer? An amount, Enter, Enter prints a claim code; type or scan that code once a
  member is identified and the check's points are theirs.
  F2 spends the most points allowed. SMS codes the customer would get:
    uv run till processing codes --db {env.directory / "processing.sqlite3"}

  Demo members:
{phones}

  Scan from another terminal through the pty scanner:
    printf '+79161234567\\r' > {feed_path}
    printf '{token}\\r' > {feed_path}      # a member QR token (valid for a few minutes)

  Receipts: {settings.printer.path} (also shown in the receipt pane, F10).
  Quit: F12 (admin), manager PIN, then F10 there.
{register}"""


def make_directory(explicit: Path | None) -> tuple[Path, Callable[[], None]]:
    """The demo's data directory and how to remove it (kept when given explicitly)."""
    if explicit is not None:
        explicit.mkdir(parents=True, exist_ok=True)
        return explicit, lambda: None
    directory = Path(tempfile.mkdtemp(prefix="till-demo-"))
    os.chmod(directory, 0o700)
    return directory, lambda: shutil.rmtree(directory, ignore_errors=True)


def member_token(env: DemoEnvironment, phone: str) -> str:
    """A fresh member QR token from the server's CLI (its last output line)."""
    db = env.directory / "processing.sqlite3"
    try:
        return _till("processing", "member-qr", "--db", str(db), phone).strip().splitlines()[-1]
    except (DemoError, IndexError):
        return "(run: uv run till processing member-qr --db … PHONE)"
