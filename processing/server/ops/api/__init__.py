"""The operator API under ``/v1/operator``: the operator's commands over HTTP.

Every route needs an operator key (:mod:`processing.server.ops.operators`), checked by the
auth middleware before the body is read; the operator's name on the key is the name kept with
every change, as ``--operator`` is on the command line. Each route calls the same functions
as its command, so the rules and the sentences are the commands' own. Handlers are plain
``def``: FastAPI runs them on its worker threads, so a large import never stalls the tills'
requests on the event loop.

One module a group of routes (``routes_program`` … ``routes_jobs``), what they share in
:mod:`.base`; :data:`router` gathers them, in this order, under :data:`PREFIX`.
"""

from __future__ import annotations

from fastapi import APIRouter

from processing import wire
from processing.server.ops.api import (
    routes_books,
    routes_conflicts,
    routes_coupons,
    routes_jobs,
    routes_members,
    routes_program,
    routes_tills,
)

PREFIX = "/operator"
"""Under ``wire.API_PREFIX``: the operator API's paths start ``/v1/operator/``."""

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": wire.ErrorBody} for status in (401, 404, 409, 413, 422)
}
router = APIRouter(prefix=PREFIX, tags=["operator"], responses=ERRORS)
for group in (
    routes_program,
    routes_members,
    routes_tills,
    routes_coupons,
    routes_books,
    routes_conflicts,
    routes_jobs,
):
    router.include_router(group.router)
