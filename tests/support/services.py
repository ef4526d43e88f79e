"""The till's services over the reference server, as the sale screen's workers call them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from processing.server.testing import RunningServer
from terminal.composition import build_services
from terminal.services import TillServices
from terminal.views import QUICK_AMOUNT, SaleDraft, SaleLine
from tests.support.ui import ANNA, till_settings


@contextmanager
def till(tmp_path: Path, srv: RunningServer) -> Iterator[TillServices]:
    services = build_services(till_settings(tmp_path, srv.url, srv.api_key))
    try:
        services.office.start_shift("1")
        yield services
    finally:
        services.close()


def sale(services: TillServices, amount: str, spend: str) -> SaleDraft:
    member = services.sales.identify(ANNA, scanned=False)
    line = SaleLine(QUICK_AMOUNT, Decimal(amount), Decimal(1), Decimal(amount))
    return SaleDraft(str(uuid.uuid4()), member, (line,), spend=Decimal(spend))
