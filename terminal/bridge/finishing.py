"""What a finish answers the register: the points, and the text its fiscal receipt prints.

The text is the till's own bonus block (or claim block) laid out alone, in the receipt
language, at the width the register asked for (:mod:`drivers.receipt_layout`).
"""

from __future__ import annotations

from decimal import Decimal

from terminal import receipts
from terminal.bridge import models
from terminal.services import TillServices
from terminal.views import SaleDraft, SaleResult

ZERO = Decimal(0)


def sale_result(
    services: TillServices, draft: SaleDraft, result: SaleResult, request: models.FinishRequest
) -> models.FinishResult:
    """A committed sale of an identified customer, with its bonus lines."""
    from drivers.receipt_layout import bonus_text

    settings = services.settings
    paper = receipts.sale_receipt(
        settings,
        draft,
        earned=result.earned,
        spent=result.spent,
        balance_after=result.balance_after,
        offline=result.offline,
        cashier=services.session.cashier,
        issued_at=services.clock(),
    )
    till = settings.till
    return models.FinishResult(
        earned=result.earned,
        spent=result.spent,
        balance_after=result.balance_after,
        confirmed=result.confirmed,
        offline=result.offline,
        fiscal_number=request.fiscal_number,
        bonus_lines=bonus_text(paper.bonus, till.receipt_language, till.currency, request.width)
        if paper.bonus is not None
        else [],
        print_job=result.print_job_id,
    )


def claim_result(
    services: TillServices, result: SaleResult, request: models.FinishRequest
) -> models.FinishResult:
    """A committed check without a customer: its claim code and the claim block's lines."""
    from drivers.receipt_layout import claim_text

    claim, till = result.claim, services.settings.till
    return models.FinishResult(
        earned=ZERO,
        spent=ZERO,
        confirmed=result.confirmed,
        offline=result.offline,
        fiscal_number=request.fiscal_number,
        bonus_lines=claim_text(
            receipts.claim_block(claim), till.receipt_language, till.currency, request.width
        )
        if claim is not None
        else [],
        print_job=result.print_job_id,
        claim_code=claim.code if claim is not None else None,
    )


def bare_result(services: TillServices, request: models.FinishRequest) -> models.FinishResult:
    """Nothing for loyalty to do (no customer, claims off): the receipt is just closed."""
    return models.FinishResult(
        earned=ZERO,
        spent=ZERO,
        confirmed=False,
        offline=not services.connection.online,
        fiscal_number=request.fiscal_number,
        bonus_lines=[],
    )
