"""``till bridge simulate``: play a cash register against the till's bridge, headless.

A cart from a CSV file (``--csv``), from ``--item NAME:PRICE[:QTY]`` arguments or made up
(``--generate N``) is put for a receipt, identified (``--identify``), paid partly with points
(``--spend max|AMOUNT``), fiscalised (``--fiscal``; or ``--cancel``) and, when asked, refunded
(``--refund LINE:QTY``). Each answer is printed as the register would read it (``--json``: the
raw answers). ``--original R --refund LINE:QTY`` only refunds lines of an earlier receipt.
Exit 0 when every step was accepted, 1 when the bridge refused one (its code and sentence on
stderr), 2 when the bridge cannot be reached or the input cannot be read.
"""

from __future__ import annotations

import json
import sys
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx

from terminal.bridge.simulator import (
    CartError,
    Refused,
    Register,
    generated_lines,
    lines_from_csv,
    lines_from_items,
)
from terminal.cli_support import settings_or_exit
from terminal.config import config_path

EXIT_REFUSED = 1
EXIT_UNUSABLE = 2


@click.group()
def bridge() -> None:
    """The cash register's bridge (see BRIDGE.md)."""


@bridge.command()
@click.option(
    "--config", "config_file", default=None, help="config.toml for [bridge] host/port/key"
)
@click.option("--url", default=None, help="the bridge's URL (default: from [bridge])")
@click.option("--key", default=None, help="the bridge key (default: [bridge] key)")
@click.option("--register", "register_id", default="POS-1", show_default=True)
@click.option("--receipt", "receipt_id", default=None, help="receipt id (default: a new one)")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--item", "items", multiple=True, help="NAME:PRICE[:QTY], repeatable")
@click.option("--generate", type=click.IntRange(1, 500), help="a made-up cart of N lines")
@click.option("--identify", "identifier", default=None, help="phone, card or member QR")
@click.option("--cashier", default=None)
@click.option("--spend", default=None, help="max, or a number of points")
@click.option("--fiscal", "fiscal_number", default=None, help="fiscal number (default: made up)")
@click.option("--cancel", is_flag=True, help="cancel the receipt instead of finishing it")
@click.option("--refund", "refunds", multiple=True, help="LINE:QTY to refund after finishing")
@click.option("--original", default=None, help="only refund --refund lines of this earlier receipt")
@click.option("--width", type=click.IntRange(24, 80), default=32, show_default=True)
@click.option("--print", "print_receipt", is_flag=True, help="also print on the till's printer")
@click.option("--json", "as_json", is_flag=True, help="print the raw JSON answers")
def simulate(
    config_file: str | None,
    url: str | None,
    key: str | None,
    register_id: str,
    receipt_id: str | None,
    csv_path: Path | None,
    items: tuple[str, ...],
    generate: int | None,
    identifier: str | None,
    cashier: str | None,
    spend: str | None,
    fiscal_number: str | None,
    cancel: bool,
    refunds: tuple[str, ...],
    original: str | None,
    width: int,
    print_receipt: bool,
    as_json: bool,
) -> None:
    """Play a cash register: cart, identify, spend, fiscal step or cancel, refund."""
    try:
        lines = [] if original else _cart(csv_path, items, generate)
        spend_amount = _spend(spend)
        refund_lines = _refund_lines(refunds)
        if original and not refund_lines:
            raise CartError("--original needs at least one --refund LINE:QTY")
    except CartError as error:
        _fail(str(error), EXIT_UNUSABLE)
    if url is None or key is None:
        path = config_path(config_file)
        if config_file or path.exists():
            section = settings_or_exit(config_file).bridge
            host = "127.0.0.1" if section.host in {"0.0.0.0", "localhost"} else section.host
            url = url or f"http://{f'[{host}]' if ':' in host else host}:{section.port}"
            if key is None and section.key:
                key = section.key.get_secret_value()
    receipt = receipt_id or f"R-{uuid.uuid4().hex[:10]}"
    show = _Printer(as_json)
    try:
        with Register(url or "http://127.0.0.1:8780", register_id, key) as register:
            if original:
                show.state("refund", register.refund(receipt, original, refund_lines))
                return
            show.state(
                "cart", register.put_cart(receipt, lines, identifier=identifier, cashier=cashier)
            )
            if spend is not None:
                show.state("spend", register.spend(receipt, spend_amount))
            if cancel:
                show.state("cancel", register.cancel(receipt))
                return
            fiscal = fiscal_number or f"FN-{uuid.uuid4().hex[:8]}"
            state = register.state(receipt)
            to_pay = (state.get("calculation") or {}).get("to_pay") or _total(lines)
            payments = [{"kind": "card", "amount": str(to_pay)}]
            show.state(
                "finish",
                register.finish(
                    receipt, fiscal, payments=payments, width=width, print_receipt=print_receipt
                ),
            )
            if refund_lines:
                show.state("refund", register.refund(f"{receipt}-refund", receipt, refund_lines))
    except Refused as error:
        _fail(f"refused ({error.status}) {error.code}: {error.message}", EXIT_REFUSED)
    except httpx.HTTPError as error:
        _fail(f"the bridge at {url} cannot be reached: {error}", EXIT_UNUSABLE)


def _fail(line: str, code: int) -> NoReturn:
    click.echo(line, err=True)
    sys.exit(code)


def _cart(csv_path: Path | None, items: tuple[str, ...], generate: int | None) -> list[Any]:
    given = [bool(csv_path), bool(items), bool(generate)]
    if sum(given) != 1:
        raise CartError("give the cart as exactly one of --csv, --item or --generate")
    if csv_path is not None:
        return lines_from_csv(csv_path)
    if items:
        return lines_from_items(items)
    assert generate is not None
    return generated_lines(generate)


def _spend(text: str | None) -> Decimal | None:
    if text is None or text.strip().lower() == "max":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CartError(f"--spend {text!r} is neither max nor a number of points") from None
    if not value.is_finite() or value < 0:
        raise CartError(f"--spend {text!r} is not a non-negative number")
    return value


def _refund_lines(texts: tuple[str, ...]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for text in texts:
        line, _, quantity = text.partition(":")
        try:
            number, count = int(line), Decimal(quantity or "1")
        except (ValueError, InvalidOperation):
            raise CartError(f"--refund {text!r}: write it as LINE:QUANTITY") from None
        out[number] = out.get(number, Decimal(0)) + count
    return out


def _total(lines: list[Any]) -> Decimal:
    return sum((Decimal(line["amount"]) for line in lines), Decimal(0))


class _Printer:
    """Prints each answer: raw JSON, or what a register's cashier would read."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def state(self, step: str, answer: dict[str, Any]) -> None:
        if self.as_json:
            click.echo(json.dumps({"step": step, "answer": answer}, ensure_ascii=False))
            return
        click.echo(f"== {step}: receipt {answer['receipt_id']} ({answer['status']})")
        member = answer.get("member")
        if member:
            where = "" if member["online"] else " (offline, cached)"
            click.echo(f"member {member['phone_masked']}, balance {member['balance']}{where}")
        calc = answer.get("calculation")
        if calc:
            click.echo(
                f"total {calc['total']}  spend {calc['spend']} (max {calc['max_spend']})"
                f"  to pay {calc['to_pay']}  earn {calc['earn']}"
                + ("" if calc["online"] else "  [offline estimate]")
            )
            for line in calc["lines"]:
                if Decimal(line["discount"]):
                    click.echo(
                        f"  line {line['line']}: {line['amount']} - {line['discount']}"
                        f" = {line['to_pay']}"
                    )
        for message in answer.get("messages", []):
            click.echo(f"! {message}")
        finish = answer.get("finish")
        if finish and step == "finish":
            state = "confirmed" if finish["confirmed"] else "queued for sync"
            if finish.get("claim_code"):
                click.echo(f"no customer: claim code {finish['claim_code']} ({state})")
            elif finish["balance_after"] is not None:
                click.echo(
                    f"earned {finish['earned']}, spent {finish['spent']},"
                    f" balance after {finish['balance_after']} ({state})"
                )
            for text in finish["bonus_lines"]:
                click.echo(f"| {text}")
        refund = answer.get("refund")
        if refund:
            state = "queued for sync" if refund["queued"] else "applied"
            click.echo(
                f"refund of {refund['original_receipt_id']}: points taken back"
                f" {refund['points_taken_back']}, given back {refund['points_given_back']}"
                f" ({state})"
            )
