"""The server's refusal: raised by services, turned into ``{code, message, details}`` by the app."""

from __future__ import annotations

from typing import Any

from processing.errors import ErrorCode

_STATUS = {
    ErrorCode.INVALID_REQUEST: 422,
    ErrorCode.INVALID_PHONE: 422,
    ErrorCode.INVALID_TOKEN: 422,
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED: 400,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.UNKNOWN_MEMBER: 404,
    ErrorCode.UNKNOWN_CHECK: 404,
    ErrorCode.UNKNOWN_CODE: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.REQUEST_TOO_LARGE: 413,
    ErrorCode.HEADERS_TOO_LARGE: 431,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.CHECK_EXISTS: 409,
    ErrorCode.CHECK_ALREADY_CLOSED: 409,
    ErrorCode.STALE_CALCULATION: 409,
    ErrorCode.HOLD_EXPIRED: 409,
    ErrorCode.CODE_LOCKED: 429,
    ErrorCode.CODE_RESEND_TOO_SOON: 429,
    ErrorCode.CODE_PHONE_LIMIT: 429,
    ErrorCode.CODE_TILL_LIMIT: 429,
    ErrorCode.TOO_MANY_REQUESTS: 429,
    ErrorCode.CLAIM_UNKNOWN: 404,
    ErrorCode.CLAIM_REDEEMED: 409,
    ErrorCode.CLAIM_EXPIRED: 409,
    ErrorCode.CLAIM_RETURNED: 409,
    ErrorCode.CLAIM_CODE_TAKEN: 409,
    ErrorCode.INTERNAL: 500,
}


class ApiError(Exception):
    """A refusal with a stable code. ``keep_effects``: commit what was written before it
    (a wrong code's attempt counter must survive the refusal)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        keep_effects: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details or {}
        self.keep_effects = keep_effects

    @property
    def status(self) -> int:
        """The HTTP status for this code (422 for the caller's business mistakes by default)."""
        return _STATUS.get(self.code, 422)

    def body(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "details": self.details}
