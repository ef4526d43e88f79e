"""The sync engine's transport over ``processing.ProcessingClient``.

Runs of offline checks go in one ``replay_batch`` call (up to 200 items); hold confirmations,
cancellations, returns, registrations and claims (checks made without a customer) go one call
each, with the record id as the Idempotency-Key. The server's answer is turned into a
:class:`~offline_cache.sync.Delivery` with the differences between the till's offline figures
and the server's.

Offline, 5xx, malformed answers and a refused API key are transient (retry later); a
``Rejected`` answer for one record is final for that record only — except ``hold_expired``
for a confirmation: the sale was printed and the server settles a late confirmation, so it is
sent again later, never dead-lettered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from offline_cache.outbox import (
    KIND_CLAIM,
    KIND_HOLD_CANCEL,
    KIND_HOLD_CONFIRM,
    KIND_OFFLINE_CHECK,
    KIND_REGISTRATION,
    KIND_RETURN,
    OutboxRecord,
)
from offline_cache.sync import Delivery, Difference, TransientFailure
from processing import wire
from processing.client import ProcessingClient
from processing.errors import ProcessingError, Rejected

MAX_REPLAY_BATCH = 200
T = TypeVar("T")


class ProcessingTransport:
    """Delivers outbox records with a ``ProcessingClient`` (owned by the caller)."""

    def __init__(self, client: ProcessingClient) -> None:
        self.client = client

    def deliver(self, records: Sequence[OutboxRecord]) -> Iterator[Delivery]:
        """Yield one delivery per record, in order. Raises ``TransientFailure``."""
        index = 0
        while index < len(records):
            run = _offline_run(records, index)
            if run:
                yield from self._replay(run)
                index += len(run)
            else:
                yield self._single(records[index])
                index += 1

    def _replay(self, run: list[OutboxRecord]) -> Iterator[Delivery]:
        valid: list[tuple[OutboxRecord, wire.ReplayItem]] = []
        for record in run:
            try:
                check = wire.OfflineCheck.model_validate(record.payload)
            except ValidationError as error:
                yield _invalid(record, error)
                continue
            valid.append((record, wire.ReplayItem(idempotency_key=record.id, check=check)))
        if not valid:
            return
        try:
            results = _transient(lambda: self.client.replay_batch([item for _, item in valid]))
        except Rejected:
            # The batch as a whole was refused (one bad item spoils a batch): isolate it.
            for record, item in valid:
                yield self._replay_one(record, item)
            return
        for (record, _), result in zip(valid, results, strict=True):
            if result.status == "rejected" or result.result is None:
                body = result.error
                reason = f"{body.code}: {body.message}" if body else "rejected"
                # A conflict row, as for a refusal sent alone: the points the till gave stay
                # visible (and count against its offline budget) until a manager has seen it.
                refused = Difference(
                    "refused",
                    None,
                    body.code if body else "rejected",
                    {"message": body.message if body else "rejected"},
                )
                yield Delivery(record.id, False, result.model_dump(mode="json"), reason, (refused,))
            else:
                yield _check_delivery(record, result.result, result.model_dump(mode="json"))

    def _replay_one(self, record: OutboxRecord, item: wire.ReplayItem) -> Delivery:
        try:
            result = _transient(
                lambda: self.client.replay_offline(item.check, idempotency_key=record.id)
            )
        except Rejected as error:
            return _refused(record, error)
        return _check_delivery(record, result, result.model_dump(mode="json"))

    def _single(self, record: OutboxRecord) -> Delivery:
        try:
            return self._send_single(record)
        except Rejected as error:
            return _refused(record, error)
        except (ValidationError, KeyError, TypeError, ValueError) as error:
            return _invalid(record, error)

    def _send_single(self, record: OutboxRecord) -> Delivery:
        payload = record.payload
        key = record.id
        if record.kind == KIND_HOLD_CONFIRM:
            check_id = str(payload["check_id"])
            try:
                confirmed = _transient(lambda: self.client.confirm(check_id, idempotency_key=key))
            except Rejected as error:
                if error.code in _SETTLED_LATE:
                    # The receipt was printed: the server settles a late confirmation (any
                    # shortfall as a conflict), so this record must wait, never die.
                    raise TransientFailure(str(error)) from error
                raise
            return _check_delivery(record, confirmed, confirmed.model_dump(mode="json"))
        if record.kind == KIND_HOLD_CANCEL:
            check_id = str(payload["check_id"])
            cancelled = _transient(lambda: self.client.cancel(check_id, idempotency_key=key))
            return Delivery(record.id, True, cancelled.model_dump(mode="json"))
        if record.kind == KIND_RETURN:
            request = wire.ReturnRequest.model_validate(payload)
            returned = _transient(lambda: self.client.return_check(request, idempotency_key=key))
            # A return against a check nobody has claimed yet involves no member (id "").
            return Delivery(
                record.id,
                True,
                returned.model_dump(mode="json"),
                differences=_return_differences(returned),
                member_id=returned.member_id or None,
                balance_after=returned.balance_after if returned.member_id else None,
            )
        if record.kind == KIND_CLAIM:
            claim = wire.ClaimRequest.model_validate(payload)
            created = _transient(lambda: self.client.create_claim(claim, idempotency_key=key))
            return Delivery(record.id, True, created.model_dump(mode="json"))
        if record.kind == KIND_REGISTRATION:
            form = wire.RegisterRequest.model_validate(payload)
            sent = _transient(
                lambda: self.client.register(
                    form.phone,
                    consent=form.consent,
                    name=form.name,
                    birthday=form.birthday,
                    email=form.email,
                    region=form.region,
                    idempotency_key=key,
                )
            )
            return Delivery(record.id, True, sent.model_dump(mode="json"))
        raise ValueError(f"unknown outbox kind {record.kind!r}")


def _offline_run(records: Sequence[OutboxRecord], start: int) -> list[OutboxRecord]:
    run: list[OutboxRecord] = []
    for record in records[start:]:
        if record.kind != KIND_OFFLINE_CHECK or len(run) >= MAX_REPLAY_BATCH:
            break
        run.append(record)
    return run


# Refusals that say nothing about the record itself (a missing route, a proxy page, a refused
# key): the record must wait, not die.
_NOT_THE_RECORDS_FAULT = frozenset(
    {"not_found", "method_not_allowed", "unauthorized", "internal", "idempotency_key_required"}
)


# Refusals of a confirmation that the server settles when the confirmation is sent again: a
# printed sale's points must not be left in limbo by a dead record.
_SETTLED_LATE = frozenset({"hold_expired"})


def is_final_refusal(error: Rejected) -> bool:
    """True when a refusal is about the record itself: sent again, it is refused again."""
    return error.code not in _NOT_THE_RECORDS_FAULT


def _transient(call: Callable[[], T]) -> T:
    """Run ``call``; processing errors become ``TransientFailure`` except a record's own refusal.

    Raises ``Rejected`` only when the refusal is about the record (e.g. ``member_blocked``).
    """
    try:
        return call()
    except Rejected as error:
        if not is_final_refusal(error):
            raise TransientFailure(str(error)) from error
        raise
    except ProcessingError as error:
        raise TransientFailure(str(error)) from error


def _return_differences(result: wire.ReturnResult) -> tuple[Difference, ...]:
    """Earned points a queued return could not take back (already spent): nobody at the
    counter heard it, so the admin sees it as a conflict."""
    if not result.conflict:
        return ()
    taken = str(result.points_taken_back)
    wanted = str(result.points_taken_back + result.shortfall)
    detail = {"conflict": result.conflict, "shortfall": str(result.shortfall)}
    return (Difference("server_conflict", wanted, taken, detail),)


def _check_delivery(
    record: OutboxRecord, result: wire.CheckResult, response: dict[str, Any]
) -> Delivery:
    differences: list[Difference] = []
    if record.offline:
        if Decimal(result.earned) != record.earn:
            differences.append(Difference("earn", str(record.earn), str(result.earned)))
        if Decimal(result.spent) != record.spend:
            differences.append(Difference("spend", str(record.spend), str(result.spent)))
    if result.conflict:
        differences.append(
            Difference(
                "server_conflict",
                str(record.spend),
                str(result.spent),
                {"conflict": result.conflict, "shortfall": str(result.shortfall)},
            )
        )
    return Delivery(
        record.id,
        True,
        response,
        differences=tuple(differences),
        earned=Decimal(result.earned),
        spent=Decimal(result.spent),
        member_id=result.member_id,
        balance_after=Decimal(result.balance_after),
    )


def _refused(record: OutboxRecord, error: Rejected) -> Delivery:
    response = {"code": error.code, "message": str(error), "details": error.details}
    return Delivery(
        record.id,
        False,
        response,
        f"{error.code}: {error}",
        differences=(Difference("refused", None, error.code, {"message": str(error)}),),
    )


def _invalid(record: OutboxRecord, error: Exception) -> Delivery:
    return Delivery(
        record.id,
        False,
        {"code": "invalid_record"},
        f"invalid_record: the till stored a record the protocol cannot carry ({error})",
    )
