"""Errors of the processing protocol, for the till's client and the server's stable codes.

Client hierarchy (every one carries one sentence a cashier or admin can read)::

    ProcessingError
    ├── Offline          the server could not be reached in time, or the breaker is open
    ├── Unauthorized     the till's API key was refused (401)
    ├── Rejected         the server refused the request: ``code``, ``message``, ``details``
    ├── ServerError      the server failed (5xx) after the retries the budget allowed
    └── ProtocolError    the answer was malformed or did not match the protocol

:class:`ErrorCode` lists the stable codes a :class:`Rejected` may carry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes of the protocol (the ``code`` of every error answer)."""

    INVALID_REQUEST = "invalid_request"
    INVALID_PHONE = "invalid_phone"
    INVALID_TOKEN = "invalid_token"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    UNKNOWN_MEMBER = "unknown_member"
    UNKNOWN_CHECK = "unknown_check"
    UNKNOWN_CODE = "unknown_code"
    MEMBER_BLOCKED = "member_blocked"
    SPEND_NOT_ALLOWED = "spend_not_allowed"
    INSUFFICIENT_POINTS = "insufficient_points"
    CODE_REQUIRED = "code_required"
    CODE_INVALID = "code_invalid"
    CODE_EXPIRED = "code_expired"
    CODE_LOCKED = "code_locked"
    CODE_RESEND_TOO_SOON = "code_resend_too_soon"
    CODE_PHONE_LIMIT = "code_phone_limit"
    CODE_TILL_LIMIT = "code_till_limit"
    TOO_MANY_REQUESTS = "too_many_requests"
    CONSENT_REQUIRED = "consent_required"
    HOLD_EXPIRED = "hold_expired"
    CHECK_ALREADY_CLOSED = "check_already_closed"
    CHECK_EXISTS = "check_exists"
    STALE_CALCULATION = "stale_calculation"
    RETURN_EXCEEDS_CHECK = "return_exceeds_check"
    COUPON_INVALID = "coupon_invalid"
    CLAIM_UNKNOWN = "claim_unknown"
    CLAIM_REDEEMED = "claim_redeemed"
    CLAIM_EXPIRED = "claim_expired"
    CLAIM_RETURNED = "claim_returned"
    CLAIM_CODE_TAKEN = "claim_code_taken"
    NOT_FOUND = "not_found"
    REQUEST_TOO_LARGE = "request_too_large"
    HEADERS_TOO_LARGE = "headers_too_large"
    REQUEST_TIMEOUT = "request_timeout"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAUTHORIZED = "unauthorized"
    INTERNAL = "internal"


class ProcessingError(Exception):
    """Base of every error the processing client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Offline(ProcessingError):
    """The processing server could not be reached within the time budget."""


class Unauthorized(ProcessingError):
    """The server refused this till's API key."""


class Rejected(ProcessingError):
    """The server refused the request for a reason the caller can act on."""

    def __init__(
        self, code: str, message: str, details: dict[str, Any] | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.code = code
        self.details: dict[str, Any] = details or {}
        self.status = status

    def __repr__(self) -> str:
        return f"Rejected(code={self.code!r}, message={self.message!r})"


class ServerError(ProcessingError):
    """The server failed with a 5xx answer."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class ProtocolError(ProcessingError):
    """The server's answer was malformed or did not match the protocol."""
