"""A cash register in a few lines: what ``till bridge simulate`` and the tests call the bridge
with, and what a register's plugin would do (BRIDGE.md).

Each call gets a fresh call id; :meth:`Register.call` repeats a call with the same id after a
lost answer, as a register must, so a retry never applies anything twice.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

from terminal.bridge.models import CALL_ID_HEADER, REGISTER_HEADER

CSV_COLUMNS = (
    "line",
    "sku",
    "barcode",
    "name",
    "price",
    "quantity",
    "amount",
    "discountable",
    "payable_with_points",
)
"""Columns a cart CSV may have (a header row names them; price and name are required)."""


class CartError(ValueError):
    """A cart file or argument that cannot be read; ``str()`` is one sentence."""


class Refused(Exception):
    """The bridge refused a call: its ``code`` and sentence, and the HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Register:
    """One register calling one bridge."""

    url: str
    register_id: str = "POS-1"
    key: str | None = None
    timeout: float = 15.0

    def __post_init__(self) -> None:
        headers = {REGISTER_HEADER: self.register_id}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=self.timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        call_id: str | None = None,
        attempts: int = 3,
    ) -> dict[str, Any]:
        """One bridge call, repeated with the same call id when the answer is lost.

        Raises Refused for a 4xx/5xx answer and httpx.TransportError when every attempt failed.
        """
        headers = {CALL_ID_HEADER: call_id or str(uuid.uuid4())}
        for attempt in range(attempts):
            try:
                response = self.http.request(method, path, json=body, headers=headers)
                break
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
        answer: dict[str, Any] = response.json()
        if response.status_code >= 400:
            raise Refused(response.status_code, str(answer.get("code")), str(answer.get("message")))
        return answer

    def put_cart(
        self,
        receipt_id: str,
        lines: list[dict[str, Any]],
        *,
        identifier: str | None = None,
        cashier: str | None = None,
        call_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"lines": lines, "cashier": cashier}
        if identifier:
            body["identifier"] = {"value": identifier}
        return self.call("PUT", f"/v1/receipts/{receipt_id}/cart", body, call_id=call_id)

    def state(self, receipt_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v1/receipts/{receipt_id}")

    def spend(
        self, receipt_id: str, amount: Decimal | None = None, *, call_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"max": True} if amount is None else {"amount": str(amount)}
        return self.call("POST", f"/v1/receipts/{receipt_id}/spend", body, call_id=call_id)

    def finish(
        self,
        receipt_id: str,
        fiscal_number: str,
        *,
        payments: list[dict[str, str]] | None = None,
        width: int = 32,
        print_receipt: bool = False,
        call_id: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "fiscal_number": fiscal_number,
            "payments": payments or [],
            "width": width,
            "print": print_receipt,
        }
        return self.call("POST", f"/v1/receipts/{receipt_id}/finish", body, call_id=call_id)

    def cancel(self, receipt_id: str, *, call_id: str | None = None) -> dict[str, Any]:
        return self.call("POST", f"/v1/receipts/{receipt_id}/cancel", call_id=call_id)

    def refund(
        self,
        refund_id: str,
        original_receipt_id: str,
        lines: dict[int, Decimal],
        *,
        call_id: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "original_receipt_id": original_receipt_id,
            "lines": [{"line": n, "quantity": str(q)} for n, q in lines.items()],
        }
        return self.call("POST", f"/v1/receipts/{refund_id}/refund", body, call_id=call_id)


# ---------------------------------------------------------------- carts


def _decimal(text: str, what: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise CartError(f"{where}: {what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise CartError(f"{where}: {what} {text!r} is not a non-negative number")
    return value


def _flag(text: str | None, where: str, what: str) -> bool:
    if text is None or text.strip() == "":
        return True
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "y"}:
        return True
    if lowered in {"0", "false", "no", "n"}:
        return False
    raise CartError(f"{where}: {what} {text!r} is not yes or no")


def cart_line(
    number: int,
    name: str,
    price: str,
    quantity: str = "1",
    amount: str | None = None,
    *,
    sku: str | None = None,
    barcode: str | None = None,
    discountable: bool = True,
    payable_with_points: bool = True,
    where: str = "line",
) -> dict[str, Any]:
    """One cart line as the bridge takes it; ``amount`` defaults to price × quantity."""
    unit = _decimal(price, "price", where)
    count = _decimal(quantity, "quantity", where)
    total = (
        _decimal(amount, "amount", where)
        if amount not in (None, "")
        else (unit * count).quantize(Decimal("0.01"))
    )
    line: dict[str, Any] = {
        "line": number,
        "name": name,
        "price": str(unit),
        "quantity": str(count),
        "amount": str(total),
        "discountable": discountable,
        "payable_with_points": payable_with_points,
    }
    if sku:
        line["sku"] = sku
    if barcode:
        line["barcode"] = barcode
    return line


def lines_from_csv(path: Path) -> list[dict[str, Any]]:
    """A cart from a CSV file with a header row (see :data:`CSV_COLUMNS`)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise CartError(f"{path}: cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise CartError(f"{path}: is not UTF-8 text") from None
    rows = list(csv.DictReader(text.splitlines(), delimiter=_delimiter(text)))
    if not rows:
        raise CartError(f"{path}: has no lines under its header")
    unknown = set(rows[0]) - set(CSV_COLUMNS)
    if unknown:
        raise CartError(f"{path}: unknown columns {', '.join(sorted(unknown))}")
    out = []
    for n, row in enumerate(rows, start=1):
        where = f"{path}: row {n + 1}"
        if not row.get("price"):
            raise CartError(f"{where}: price is missing")
        number = row.get("line") or str(n)
        if not number.isdigit():
            raise CartError(f"{where}: line {number!r} is not a whole number")
        out.append(
            cart_line(
                int(number),
                row.get("name") or "",
                row["price"],
                row.get("quantity") or "1",
                row.get("amount"),
                sku=row.get("sku"),
                barcode=row.get("barcode"),
                discountable=_flag(row.get("discountable"), where, "discountable"),
                payable_with_points=_flag(
                    row.get("payable_with_points"), where, "payable_with_points"
                ),
                where=where,
            )
        )
    return out


def _delimiter(text: str) -> str:
    header = text.splitlines()[0] if text else ""
    return ";" if header.count(";") > header.count(",") else ","


def lines_from_items(items: Iterable[str]) -> list[dict[str, Any]]:
    """A cart from ``NAME:PRICE[:QUANTITY]`` arguments, numbered 1, 2, …"""
    out = []
    for n, item in enumerate(items, start=1):
        parts = item.rsplit(":", 2) if item.count(":") >= 2 else item.rsplit(":", 1)
        if len(parts) < 2:
            raise CartError(f"item {item!r}: write it as NAME:PRICE or NAME:PRICE:QUANTITY")
        out.append(cart_line(n, parts[0], parts[1], *parts[2:], where=f"item {item!r}"))
    return out


def generated_lines(count: int) -> list[dict[str, Any]]:
    """``count`` made-up lines with varied prices and quantities (a register's long cart)."""
    out = []
    for n in range(1, count + 1):
        price = Decimal(37 + (n * 53) % 411) + Decimal(n % 100) / 100
        quantity = "1" if n % 4 else "2"
        out.append(cart_line(n, f"Item {n}", str(price), quantity, sku=f"SKU{n:05d}"))
    return out
