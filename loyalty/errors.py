"""The loyalty core's exceptions: one hierarchy, one clear sentence each.

```
LoyaltyError                 base; ``str(error)`` is a sentence a cashier can read
├── InvalidAmount            a money, points or quantity value is not acceptable (also ValueError)
├── InvalidPhone             a phone number cannot be normalised; ``.reason`` says why
├── InvalidKey               a QR signing or verifying key is malformed
├── TokenError               a member QR token is rejected; ``.code`` is machine-readable
├── ProgramError             a program snapshot is invalid; ``.reason`` names the field
├── InsufficientPoints       fewer active points than asked for
├── CheckError               a check's lines, member or request cannot be calculated
└── ReturnError              a return does not fit the original check
```

Passing a float where money or points are expected is a programming error, not user input, and
raises the built-in ``TypeError`` instead.
"""

from __future__ import annotations

from decimal import Decimal


class LoyaltyError(Exception):
    """Base of every loyalty error; ``reason`` is one sentence fit for a cashier's screen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidAmount(LoyaltyError, ValueError):
    """A money, points or quantity value is malformed, negative or not finite."""


class InvalidPhone(LoyaltyError):
    """A phone number cannot be parsed or is not a valid number."""


class InvalidKey(LoyaltyError):
    """A QR token key is not a hex-encoded raw 32-byte Ed25519 key."""


class TokenError(LoyaltyError):
    """A member QR token is rejected.

    ``code`` is one of ``malformed``, ``truncated``, ``altered``, ``forged``, ``expired``,
    ``future`` so callers can branch without parsing the sentence.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class ProgramError(LoyaltyError):
    """A program snapshot fails validation."""


class InsufficientPoints(LoyaltyError):
    """Fewer points are active than the operation needs."""

    def __init__(self, requested: Decimal, available: Decimal) -> None:
        super().__init__(f"Not enough active points: {requested} requested, {available} available.")
        self.requested = requested
        self.available = available


class CheckError(LoyaltyError):
    """A check cannot be calculated as given (bad line, naive time, negative request)."""


class ReturnError(LoyaltyError):
    """A return names a line that does not exist or more than was sold."""
