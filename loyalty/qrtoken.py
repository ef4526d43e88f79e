"""Member QR tokens: short-lived, signed by the program's Ed25519 key, verifiable offline.

Alphabet: **digits only.** A keyboard-wedge scanner types what it reads as key presses; under a
Cyrillic ЙЦУКЕН layout every letter key produces a Cyrillic letter (Q→Й, W→Ц …) and several
punctuation keys move (the '/' key gives '.', Shift+2 gives '"'), but the digit row types the
same digits in every Russian, Ukrainian and Kazakh layout. Digits are also QR "numeric mode",
the densest mode (3.3 bits per character), so a digits-only token stays a small QR code.

Layout of a token (every field fixed width except the member id)::

    99 1 K LL <member field> TTTTTTTTTT <signature: 155 digits> CC
    |  | | |                 |                                   mod-97 check digits (ISO 7064)
    |  | | |                 issue time, Unix seconds, 10 digits
    |  | | length of the member field in digits (00–99)
    |  | member id encoding: 1 = decimal digits as they are, 2 = a canonical UUID as a
    |  |   39-digit integer, 3 = other printable ASCII, 3 digits per character
    |  format version
    prefix '99': tells tokens apart from phones (at most 15 digits) and barcodes (8–14 digits)

The signature covers every digit before it; the check digits cover every digit before them, so a
misread or edited digit is reported as *altered* while a well-formed token signed by another key
is *forged*. A 6-digit numeric member id gives a 179-digit token: a version 5 QR code at
error correction M (37×37 modules), easy for phone screens and 2D scanners.

Raises :class:`~loyalty.errors.TokenError` (with ``code``) and
:class:`~loyalty.errors.InvalidKey`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from loyalty.errors import InvalidKey, TokenError

TOKEN_PREFIX = "99"
"""Every member token starts with these digits."""

VERSION = "1"
SIGNATURE_DIGITS = 155  # 2**512 has 155 decimal digits
TIME_DIGITS = 10
CHECK_DIGITS = 2
HEADER_DIGITS = len(TOKEN_PREFIX) + 1 + 1 + 2  # prefix, version, kind, member-field length
MIN_TOKEN_DIGITS = HEADER_DIGITS + 1 + TIME_DIGITS + SIGNATURE_DIGITS + CHECK_DIGITS
"""No valid token is shorter; the classifier uses this to tell tokens from other codes."""

DEFAULT_MAX_SKEW = timedelta(minutes=2)
"""How far in the future an issue time may be before the till's clock is distrusted."""

_KIND_DIGITS, _KIND_UUID, _KIND_ASCII = "1", "2", "3"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token proves: this member's app showed it, issued at this time."""

    member_id: str
    """The member id exactly as it was issued."""
    issued_at: datetime
    """The issue time, whole seconds, UTC."""


def generate_keypair() -> tuple[str, str]:
    """A new ``(private_key, public_key)`` pair, each the raw 32-byte key in hex (64 chars)."""
    private = Ed25519PrivateKey.generate()
    return private.private_bytes_raw().hex(), private.public_key().public_bytes_raw().hex()


def public_key_of(private_key: str) -> str:
    """The hex public key belonging to a hex private key. Raises InvalidKey."""
    return _private(private_key).public_key().public_bytes_raw().hex()


def issue_token(member_id: str, issued_at: datetime, private_key: str) -> str:
    """A token for ``member_id`` issued at ``issued_at`` (timezone-aware), signed by the key.

    Raises TokenError ('malformed') for an id that cannot be encoded or a naive time, and
    InvalidKey for a bad key.
    """
    seconds = _unix_seconds(issued_at)
    kind, field = _encode_member(member_id)
    signed = f"{TOKEN_PREFIX}{VERSION}{kind}{len(field):02d}{field}{seconds:0{TIME_DIGITS}d}"
    signature = _private(private_key).sign(signed.encode("ascii"))
    body = signed + str(int.from_bytes(signature, "big")).zfill(SIGNATURE_DIGITS)
    return body + _check_digits(body)


def looks_like_token(text: str) -> bool:
    """True when ``text`` has a token's shape (prefix, digits only, over 20 digits).

    Nothing is verified: call :func:`verify_token` for that.
    """
    # Longer than any phone (15) or barcode (14) digits, so even a truncated token is recognised
    # as one and gets the precise 'truncated' reason from verify_token.
    return text.isdigit() and text.startswith(TOKEN_PREFIX) and len(text) > 20


def verify_token(
    token: str,
    public_key: str,
    now: datetime,
    ttl: timedelta,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> TokenClaims:
    """The claims of ``token`` when it is intact, signed by ``public_key`` and fresh at ``now``.

    Raises TokenError with code 'malformed' (not a token), 'truncated' (digits missing),
    'altered' (a digit changed or added), 'forged' (not signed by this program's key),
    'expired' (older than ``ttl``) or 'future' (issued more than ``max_skew`` after ``now``);
    InvalidKey for a bad public key.
    """
    verifier = _public(public_key)
    text = token.strip()
    if not text.isdigit() or not text.startswith(TOKEN_PREFIX):
        raise TokenError("malformed", "This is not a member QR code.")
    if len(text) < HEADER_DIGITS:
        raise TokenError("truncated", "The member QR code was read only in part; scan it again.")
    if text[2] != VERSION:
        raise TokenError("malformed", "This member QR code is from an unsupported app version.")
    kind, field_length = text[3], int(text[4:6])
    time_at = HEADER_DIGITS + field_length
    signature_at = time_at + TIME_DIGITS
    check_at = signature_at + SIGNATURE_DIGITS
    if len(text) < check_at + CHECK_DIGITS:
        raise TokenError("truncated", "The member QR code was read only in part; scan it again.")
    if len(text) > check_at + CHECK_DIGITS or _check_digits(text[:check_at]) != text[check_at:]:
        raise TokenError("altered", "The member QR code is damaged or was altered.")
    member_id = _decode_member(kind, text[HEADER_DIGITS:time_at])
    signature_number = int(text[signature_at:check_at])
    if signature_number.bit_length() > 512:
        raise TokenError("forged", "The member QR code is not signed by this program.")
    try:
        verifier.verify(signature_number.to_bytes(64, "big"), text[:signature_at].encode("ascii"))
    except InvalidSignature:
        raise TokenError("forged", "The member QR code is not signed by this program.") from None
    issued_at = datetime.fromtimestamp(int(text[time_at:signature_at]), UTC)
    now_utc = _aware(now)
    if issued_at - now_utc > max_skew:
        raise TokenError(
            "future", "The member QR code is dated in the future; check the till's clock."
        )
    if now_utc - issued_at > ttl:
        raise TokenError(
            "expired", "The member QR code has expired; ask the customer to refresh it."
        )
    return TokenClaims(member_id=member_id, issued_at=issued_at)


def _check_digits(body: str) -> str:
    # ISO 7064 MOD 97-10 (as in IBAN): catches every single-digit error and adjacent swaps.
    return f"{98 - int(body + '00') % 97:02d}"


def _encode_member(member_id: str) -> tuple[str, str]:
    if member_id.isdigit() and member_id.isascii() and len(member_id) <= 99:
        return _KIND_DIGITS, member_id
    try:
        as_uuid = uuid.UUID(member_id)
    except ValueError:
        as_uuid = None
    if as_uuid is not None and str(as_uuid) == member_id:
        return _KIND_UUID, str(as_uuid.int).zfill(39)
    if member_id and len(member_id) <= 33 and all(32 <= ord(ch) < 127 for ch in member_id):
        return _KIND_ASCII, "".join(f"{ord(ch):03d}" for ch in member_id)
    raise TokenError(
        "malformed", "The member id cannot be put in a QR code: use digits, a UUID or short ASCII."
    )


def _decode_member(kind: str, field: str) -> str:
    if kind == _KIND_DIGITS and field:
        return field
    if kind == _KIND_UUID and len(field) == 39 and int(field) < 2**128:
        return str(uuid.UUID(int=int(field)))
    if kind == _KIND_ASCII and field and len(field) % 3 == 0:
        codes = [int(field[i : i + 3]) for i in range(0, len(field), 3)]
        if all(32 <= code < 127 for code in codes):
            return "".join(map(chr, codes))
    raise TokenError("malformed", "The member QR code carries no readable member id.")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TokenError("malformed", "A token time must carry a timezone.")
    return moment.astimezone(UTC)


def _unix_seconds(moment: datetime) -> int:
    seconds = int(_aware(moment).timestamp())
    if not 0 <= seconds < 10**TIME_DIGITS:
        raise TokenError("malformed", "A token time must lie between 1970 and 2286.")
    return seconds


def _key_bytes(key: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(key.strip())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidKey(f"The QR {what} key must be 64 hex digits (a raw Ed25519 key).")
    return raw


def _private(key: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_key_bytes(key, "signing"))


def _public(key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_key_bytes(key, "public"))
