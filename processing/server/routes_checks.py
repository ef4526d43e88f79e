"""Routes: calculate, hold, confirm, cancel, offline replay, returns."""

from __future__ import annotations

from fastapi import APIRouter

from processing import wire

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": wire.ErrorBody} for status in (400, 401, 404, 409, 422, 429)
}

router = APIRouter(responses=ERRORS)
