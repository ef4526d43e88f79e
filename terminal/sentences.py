"""The one place an error becomes words: exception type and error code → translated sentence.

Every screen, the app's failure handler and the CLI call :func:`sentence`; nothing shows
``str(error)`` of an adapter's exception (those are English, written for logs). Each entry is
an ``N_`` template in the gettext catalogs (ru, uk, kk, en); ``{name}`` fields are filled from
the error's attributes of that name. ``tests/test_sentences.py`` fails when an adapter gains an
exception class or the protocol an error code without an entry here, or when a catalog lacks
one of these sentences.

The till's own :class:`~terminal.errors.TillError` and the offline refusal are raised already
translated, so their text is the sentence. Anything else is a bug: logged in full, and the
cashier reads one generic sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from drivers import errors as device
from loyalty import errors as loyalty
from offline_cache import errors as cache
from processing import errors as processing
from processing.errors import ErrorCode, Rejected
from terminal.errors import TillError
from terminal.i18n import N_, _

log = logging.getLogger(__name__)

GENERIC = N_("Something went wrong; the details are in the till's log. Try again.")
"""For an error nobody foresaw (it is logged with its traceback)."""

REJECTIONS: dict[ErrorCode, str] = {
    ErrorCode.INVALID_REQUEST: N_("The server could not accept this request; see the till's log."),
    ErrorCode.INVALID_PHONE: N_("This is not a valid phone number."),
    ErrorCode.INVALID_TOKEN: N_("This QR code is not valid or has expired; ask for a fresh one."),
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED: N_(
        "The server could not accept this request; see the till's log."
    ),
    ErrorCode.IDEMPOTENCY_CONFLICT: N_(
        "The server already has a different request under this number; see the till's log."
    ),
    ErrorCode.UNKNOWN_MEMBER: N_("No member has this phone or card; F5 registers a new one."),
    ErrorCode.UNKNOWN_CHECK: N_("No such check on the server."),
    ErrorCode.UNKNOWN_CODE: N_("This SMS code is not known; send a new one."),
    ErrorCode.MEMBER_BLOCKED: N_("This member is blocked: no points on this sale."),
    ErrorCode.SPEND_NOT_ALLOWED: N_("This member may not spend points now."),
    ErrorCode.INSUFFICIENT_POINTS: N_("The member does not have that many points."),
    ErrorCode.CODE_REQUIRED: N_("This spend needs the code from the customer's SMS."),
    ErrorCode.CODE_INVALID: N_("The SMS code is wrong; ask the customer again."),
    ErrorCode.CODE_EXPIRED: N_("The SMS code has expired; send a new one."),
    ErrorCode.CODE_LOCKED: N_("Too many wrong codes; the sale can go on without spending points."),
    ErrorCode.CODE_RESEND_TOO_SOON: N_(
        "A code was just sent; wait a minute before sending another."
    ),
    ErrorCode.CODE_PHONE_LIMIT: N_("This phone has had too many codes this hour; try again later."),
    ErrorCode.CODE_TILL_LIMIT: N_("This till has sent too many codes; try again in a minute."),
    ErrorCode.TOO_MANY_REQUESTS: N_(
        "The server is getting too many requests from this till; wait a few seconds and try again."
    ),
    ErrorCode.CONSENT_REQUIRED: N_("The customer's consent is required to register."),
    ErrorCode.HOLD_EXPIRED: N_("The hold expired; press Enter to recalculate."),
    ErrorCode.CHECK_ALREADY_CLOSED: N_("This check is already closed on the server."),
    ErrorCode.CHECK_EXISTS: N_("A check with this number already exists on the server."),
    ErrorCode.STALE_CALCULATION: N_("The check changed; press Enter to recalculate."),
    ErrorCode.RETURN_EXCEEDS_CHECK: N_("That is more than the check had left to return."),
    ErrorCode.COUPON_INVALID: N_("This coupon cannot be used on this check."),
    ErrorCode.CLAIM_UNKNOWN: N_("This claim code is not known; check the digits on the receipt."),
    ErrorCode.CLAIM_REDEEMED: N_("The points of this receipt were already collected."),
    ErrorCode.CLAIM_EXPIRED: N_(
        "This claim code has expired; its points can no longer be collected."
    ),
    ErrorCode.CLAIM_RETURNED: N_(
        "The goods on this receipt were returned; there are no points to collect."
    ),
    ErrorCode.CLAIM_CODE_TAKEN: N_(
        "The server already has this claim code for another check; see the till's log."
    ),
    ErrorCode.REQUEST_TOO_LARGE: N_(
        "The server refused this request as too large; see the till's log."
    ),
    ErrorCode.HEADERS_TOO_LARGE: N_(
        "The server refused this request as too large; see the till's log."
    ),
    ErrorCode.REQUEST_TIMEOUT: N_("The server did not receive the request in time; try again."),
    ErrorCode.NOT_FOUND: N_("The server does not know this request; see the till's log."),
    ErrorCode.METHOD_NOT_ALLOWED: N_("The server does not know this request; see the till's log."),
    ErrorCode.UNAUTHORIZED: N_(
        "The server refused this till's API key; the manager checks it in the admin screen."
    ),
    ErrorCode.INTERNAL: N_("The processing server failed; try again in a moment."),
}
"""What the cashier reads when the server refuses with a code."""

UNKNOWN_REJECTION = N_("The server refused this ({code}); see the till's log.")
"""A code this till does not know (a newer server)."""

TYPES: dict[type[BaseException], str] = {
    # processing: the client
    processing.ProcessingError: N_("The processing server could not be used; see the till's log."),
    processing.Offline: N_("The processing server cannot be reached; the till works offline."),
    processing.Unauthorized: N_(
        "The server refused this till's API key; the manager checks it in the admin screen."
    ),
    processing.ServerError: N_("The processing server failed; try again in a moment."),
    processing.ProtocolError: N_(
        "The processing server's answer could not be understood; see the till's log."
    ),
    # offline_cache: the till database
    cache.CacheError: N_("The till database could not be used; see the till's log."),
    cache.CorruptDatabase: N_(
        "The till database {path} is damaged; the manager restores it from a backup."
    ),
    cache.NewerSchema: N_(
        "The till database {path} was written by a newer till; update this till."
    ),
    cache.NotFound: N_("This record is not in the till database."),
    cache.DuplicateRecord: N_(
        "This record was already saved with different content; see the till's log."
    ),
    cache.MemberNotCached: N_(
        "The server is offline and this customer is not in the till's cache."
    ),
    cache.IdentifierRefused: N_(
        "This code cannot be checked while offline; type the customer's phone."
    ),
    cache.ProgramNotCached: N_(
        "The server is offline and QR codes cannot be checked yet; type the phone."
    ),
    cache.ChainBroken: N_(
        "The till's record of offline checks is damaged; call support before going on."
    ),
    cache.OfflineRefused: N_("While offline, at most {limit} points may be spent here."),
    cache.ManagerPinRequired: N_("Offline, this spend needs the manager's PIN."),
    cache.ShiftCloseRefused: N_("{pending} items are not sent yet; sync first or ask a manager."),
    cache.SyncBusy: N_("Another sync is still running; try again in a moment."),
    # drivers: scanner and printer
    device.DeviceError: N_("A device failed; see the till's log."),
    device.ScannerError: N_("The scanner cannot be opened; check its cable and port."),
    device.PrinterError: N_("The receipt could not be printed; it stays queued."),
    device.PrinterUnavailable: N_(
        "The printer cannot be reached; check that it is on and connected."
    ),
    device.PrinterTimeout: N_("The printer stopped taking data; check its paper and cover."),
    device.PrinterWriteError: N_(
        "The printer connection broke while printing; the receipt stays queued."
    ),
    device.RenderError: N_(
        "This receipt cannot be printed with the printer's profile; check it in the admin screen."
    ),
    device.DeviceConfigError: N_("A device setting is wrong; check it in the admin screen."),
    # loyalty: the core
    loyalty.LoyaltyError: N_("The loyalty rules refused this; see the till's log."),
    loyalty.InvalidAmount: N_("This amount is not valid."),
    loyalty.InvalidPhone: N_("This is not a valid phone number."),
    loyalty.InvalidKey: N_(
        "The program's QR key is not valid; refresh the caches or call support."
    ),
    loyalty.TokenError: N_("This QR code is not valid or has expired; ask for a fresh one."),
    loyalty.ProgramError: N_("The cached loyalty program is not valid; see the till's log."),
    loyalty.InsufficientPoints: N_("The member does not have that many points."),
    loyalty.CheckError: N_("This check cannot be calculated as entered; check its lines."),
    loyalty.ReturnError: N_("That is more than the check had left to return."),
}
"""What the cashier reads for each adapter exception (the most specific class wins)."""


def sentence(error: BaseException) -> str:
    """The cashier's sentence for ``error``, in the screen language."""
    if isinstance(error, TillError):
        return str(error)  # raised translated
    if isinstance(error, Rejected):
        return rejected_sentence(error)
    for cls in type(error).__mro__:
        template = TYPES.get(cls)
        if template is not None:
            log.info("%s: %s", type(error).__name__, error)  # the English detail, for the log
            return _fill(_(template), error)
    log.error("unexpected failure", exc_info=error)
    return _(GENERIC)


def rejected_sentence(error: Rejected, overrides: Mapping[ErrorCode, str] | None = None) -> str:
    """The sentence for a refusal; ``overrides`` (``N_`` templates) say it for one screen."""
    try:
        code = ErrorCode(error.code)
    except ValueError:
        log.warning("unknown refusal %s: %s", error.code, error.message)
        return _(UNKNOWN_REJECTION).format(code=error.code)
    template = (overrides or {}).get(code) or REJECTIONS[code]
    return _(template)


class _Fields(dict[str, Any]):
    """The error's attributes by name, for ``str.format_map``; a missing one stays visible."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(vars(error))

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, error: BaseException) -> str:
    return template.format_map(_Fields(error))
