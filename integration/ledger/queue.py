"""The booking queue: leased claims, the attempts log, and recording each shipment's result.

Exactly once at JNE rests on three statements here (the worker's opening docstring tells the whole
argument): a shipment is claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one
exclusive statement on SQLite), so two workers never hold the same row; before each JNE call the
attempt is committed as ``sending`` with its ORDER_ID (:func:`begin_attempt`), which the lost-reply
rule later reads; and results are written only while the worker still holds the lease, except a
booking, which is a fact and always recorded (:func:`record_booked`).

The statements are built once and run with bound parameters; on PostgreSQL each per-booking step is
one statement (data-modifying CTEs) in autocommit, one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from integration.errors import IntegrationError
from integration.ledger.engine import dialect_insert, one_statement, reading, sql_literal, writing
from integration.ledger.replay import requeue_values
from integration.ledger.tables import account_blocks, attempts_log, deliveries, shipments
from integration.vocabulary import MAY_HAVE_BOOKED, REQUEUED_BY_NEW_SNAPSHOT, AttemptOutcome, ShipmentStatus

REPLY_MAX_CHARS = 2000
SECRET_FIELDS = frozenset({"USERNAME", "API_KEY", "username", "api_key"})


class LeaseLost(IntegrationError):
    """Another worker holds this shipment now (this worker's lease ran out): nothing was written.

    Retrying is not this worker's business any more: the row is in other hands.
    """


class AccountBlocked(IntegrationError):
    """The shipment's JNE account is blocked (its credentials were rejected): no call may be made.

    Retrying cannot help until a person fixes the credentials and replays.
    """


class _WorkerSQL(NamedTuple):
    """The worker's per-booking statements, built once and run with bound parameters.

    Built per call they cost the worker ~1 ms of CPU each (construction and cache keys) of ~5 ms
    per booking, in one process whose threads share the GIL: the difference between 125 and
    160 bookings a second at 16 concurrent 100 ms calls.
    """

    due: Any            # claim: lease up to :p_limit due rows
    bodies: Any         # claim: the snapshots of the claimed rows
    send: Any           # begin_attempt: still ours, queued, account not blocked -> count the call
    is_blocked: Any
    sent_before: Any    # begin_attempt: an earlier call of this row may have booked this ORDER_ID
    log_attempt: Any    # begin_attempt: the 'sending' row of the attempts log
    end_attempt: Any    # how the call ended
    booked: Any         # record_booked
    # PostgreSQL: each of the three above as one statement (data-modifying CTEs), sent in
    # autocommit: one round trip instead of four or five, and fewer GIL hand-offs per booking.
    due_pg: Any
    send_pg: Any
    booked_pg: Any      # with the attempt's result


_WORKER_SQL: list[_WorkerSQL] = []


def _worker_sql() -> _WorkerSQL:
    if not _WORKER_SQL:  # two threads may both build it; either result is the same
        _WORKER_SQL.append(_build_worker_sql())
    return _WORKER_SQL[0]


def _build_worker_sql() -> _WorkerSQL:
    s, a, d = shipments, attempts_log, deliveries

    def p(name: str, column: sa.Column[Any]) -> Any:
        # "p_" names: SQLAlchemy reserves a column's own name in SET/VALUES for itself.
        return sa.bindparam(f"p_{name}", type_=column.type)

    queued = s.c.status == sql_literal(ShipmentStatus.QUEUED)
    due_ids = (sa.select(s.c.id)
               .where(queued, s.c.next_attempt_at <= p("now", s.c.next_attempt_at),
                      sa.or_(s.c.lease_until.is_(None), s.c.lease_until <= p("now", s.c.lease_until)))
               # next_attempt_at alone: the partial index gives that order, so the scan stops at
               # the limit instead of sorting every due row (a flash sale queues thousands).
               .order_by(s.c.next_attempt_at).limit(sa.bindparam("p_limit", type_=sa.Integer()))
               # PostgreSQL: rows another worker is claiming right now are skipped, not waited
               # for. SQLite ignores this; its BEGIN IMMEDIATE makes the whole statement exclusive.
               .with_for_update(skip_locked=True))
    # next_attempt_at moves to the lease's end too, so rows in flight sort behind the due ones
    # and an expired lease (killed worker) makes the row due again by itself.
    due = (sa.update(s).where(s.c.id.in_(due_ids.scalar_subquery()))
           .values(lease_owner=p("worker", s.c.lease_owner), lease_until=p("until", s.c.lease_until),
                   next_attempt_at=p("until", s.c.next_attempt_at))
           .returning(s.c.id, s.c.store_id, s.c.order_ref, s.c.order_number, s.c.topic,
                      s.c.snapshot_version, s.c.delivery_id, s.c.jne_order_id, s.c.attempts,
                      s.c.budget_used, s.c.budget_since, s.c.account_key))
    bodies = (sa.select(d.c.id, d.c.body, d.c.received_at)
              .where(d.c.id.in_(sa.bindparam("p_ids", expanding=True))))

    blocked = sa.exists().where(account_blocks.c.account_key == p("account", account_blocks.c.account_key))
    send = (sa.update(s)
            .where(s.c.id == p("shipment", s.c.id), s.c.lease_owner == p("worker", s.c.lease_owner), queued,
                   ~blocked)
            .values(jne_order_id=p("order_id", s.c.jne_order_id), account_key=p("account", s.c.account_key),
                    attempts=s.c.attempts + 1, budget_used=s.c.budget_used + 1,
                    budget_since=sa.func.coalesce(s.c.budget_since, p("now", s.c.budget_since)),
                    mapping_version=sa.func.coalesce(p("mapping", s.c.mapping_version), s.c.mapping_version),
                    lease_until=p("until", s.c.lease_until), next_attempt_at=p("until", s.c.next_attempt_at),
                    updated_at=p("now", s.c.updated_at))
            .returning(s.c.attempts, s.c.budget_used, s.c.budget_since))
    sent_before = (sa.select(a.c.id)
                   .where(a.c.shipment_id == p("shipment", a.c.shipment_id),
                          a.c.jne_order_id == p("order_id", a.c.jne_order_id),
                          a.c.outcome.in_([sql_literal(o) for o in MAY_HAVE_BOOKED]))
                   .limit(1))
    log_attempt = (sa.insert(a)
                   .values(shipment_id=p("shipment", a.c.shipment_id), started_at=p("now", a.c.started_at),
                           jne_order_id=p("order_id", a.c.jne_order_id),
                           snapshot_version=p("version", a.c.snapshot_version), request=p("request", a.c.request),
                           outcome=sql_literal(AttemptOutcome.SENDING), worker_id=p("worker", a.c.worker_id))
                   .returning(a.c.id))
    end_attempt = (sa.update(a).where(a.c.id == p("attempt", a.c.id))
                   .values(outcome=p("outcome", a.c.outcome), duration_s=p("duration", a.c.duration_s),
                           http_status=p("http_status", a.c.http_status), reason=p("reason", a.c.reason),
                           reply=p("reply", a.c.reply)))
    booked = (sa.update(s).where(s.c.id == p("shipment", s.c.id))
              .values(status=sql_literal(ShipmentStatus.BOOKED), cnote=p("cnote", s.c.cnote),
                      jne_order_id=p("order_id", s.c.jne_order_id), booked_at=p("now", s.c.booked_at),
                      updated_at=p("now", s.c.updated_at), errors=sql_literal("{}"), problems=sql_literal("[]"),
                      skip_reason=sa.null(),
                      next_attempt_at=sa.null(), lease_owner=sa.null(), lease_until=sa.null(),
                      account_key=sa.func.coalesce(p("account", s.c.account_key), s.c.account_key)))
    claimed = due.cte("claimed")
    due_pg = sa.select(claimed, d.c.body, d.c.received_at).select_from(
        claimed.outerjoin(d, d.c.id == claimed.c.delivery_id))
    sent = send.cte("sent")
    log_values = {"shipment_id": sa.cast(p("shipment", a.c.shipment_id), a.c.shipment_id.type),
                  "started_at": sa.cast(p("now", a.c.started_at), a.c.started_at.type),
                  "jne_order_id": sa.cast(p("order_id", a.c.jne_order_id), a.c.jne_order_id.type),
                  "snapshot_version": sa.cast(p("version", a.c.snapshot_version), a.c.snapshot_version.type),
                  "request": sa.cast(p("request", a.c.request), a.c.request.type),
                  "outcome": sql_literal(AttemptOutcome.SENDING),
                  "worker_id": sa.cast(p("worker", a.c.worker_id), a.c.worker_id.type)}
    logged = (sa.insert(a).from_select(list(log_values), sa.select(*log_values.values()).select_from(sent))
              .returning(a.c.id).cte("logged"))
    # The EXISTS checks read the rows as they were before this statement, as the separate
    # statements did before the INSERT.
    send_pg = sa.select(sa.select(sent.c.attempts).scalar_subquery().label("attempts"),
                        sa.select(sent.c.budget_used).scalar_subquery().label("budget_used"),
                        sa.select(sent.c.budget_since).scalar_subquery().label("budget_since"),
                        sa.select(logged.c.id).scalar_subquery().label("attempt_id"),
                        sent_before.exists().label("sent_before"), blocked.label("is_blocked"))
    booked_pg = booked.add_cte(end_attempt.returning(a.c.id).cte("ended"))
    return _WorkerSQL(due, bodies, send, sa.select(blocked), sent_before, log_attempt, end_attempt, booked,
                      due_pg, send_pg, booked_pg)


@dataclass(frozen=True)
class Claim:
    """A shipment a worker holds the lease on, with the snapshot it must book."""

    id: int
    store_id: str
    order_ref: str
    order_number: str | None
    topic: str
    snapshot_version: int
    delivery_id: int
    jne_order_id: str | None
    attempts: int
    budget_used: int
    budget_since: datetime | None
    account_key: str | None
    body: bytes = b""
    received_at: datetime | None = None


def claim(engine: Engine, worker_id: str, now: datetime, lease_s: float, limit: int) -> list[Claim]:
    """Lease up to ``limit`` due queued shipments for ``worker_id`` (no two workers get the same row)."""
    if limit <= 0:
        return []
    sql = _worker_sql()
    params = {"p_now": now, "p_until": now + timedelta(seconds=lease_s), "p_worker": worker_id, "p_limit": limit}
    if engine.dialect.name == "postgresql":
        with one_statement(engine) as conn:
            rows = conn.execute(sql.due_pg, params).all()
        return [Claim(**{k: v for k, v in r._asdict().items() if k not in ("body", "received_at")},
                      body=bytes(r.body or b""), received_at=r.received_at)
                for r in sorted(rows, key=lambda r: r.id)]
    with writing(engine) as conn:
        rows = conn.execute(sql.due, params).all()
        if not rows:
            return []
        bodies = {r.id: (r.body, r.received_at) for r in conn.execute(
            sql.bodies, {"p_ids": [r.delivery_id for r in rows]})}
    out = []
    for r in sorted(rows, key=lambda r: r.id):
        body, received_at = bodies.get(r.delivery_id, (b"", None))
        out.append(Claim(**r._asdict(), body=bytes(body), received_at=received_at))
    return out


class Attempt(NamedTuple):
    """An attempt committed as 'sending' before its JNE call."""

    id: int
    sent_before: bool      # an earlier attempt of this row may have booked this ORDER_ID at JNE
    budget_used: int       # JNE calls of the current retry budget, this one included
    budget_since: datetime | None


def blocked_accounts(engine: Engine) -> dict[str, str]:
    """Blocked JNE accounts: account key -> reason."""
    with reading(engine) as conn:
        return {k: r for k, r in conn.execute(sa.select(account_blocks.c.account_key,
                                                        account_blocks.c.reason))}


def _safe_request(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in SECRET_FIELDS}


def begin_attempt(engine: Engine, claim_: Claim, worker_id: str, jne_order_id: str,
                  account_key: str, fields: dict[str, Any], now: datetime, lease_s: float,
                  mapping_version: str | None = None) -> Attempt:
    """Record, before the JNE call, that this row is sending ``jne_order_id``; commit it.

    The :class:`Attempt`'s ``sent_before`` tells whether an earlier attempt of this row may already
    have booked this ORDER_ID at JNE (the lost-reply rule). Raises :class:`AccountBlocked` when the
    account is blocked and :class:`LeaseLost` when another worker holds the row: no call may be
    made then.
    """
    sql = _worker_sql()
    params = {"p_shipment": claim_.id, "p_worker": worker_id, "p_account": account_key,
              "p_order_id": jne_order_id, "p_now": now, "p_until": now + timedelta(seconds=lease_s),
              "p_version": claim_.snapshot_version, "p_request": _safe_request(fields),
              "p_mapping": mapping_version}
    if engine.dialect.name == "postgresql":
        with one_statement(engine) as conn:
            row = conn.execute(sql.send_pg, params).one()
        if row.attempt_id is None:
            _refuse(bool(row.is_blocked), account_key)
        return Attempt(row.attempt_id, row.attempts > 1 and bool(row.sent_before), row.budget_used,
                       row.budget_since)
    with writing(engine) as conn:
        # One statement: still ours, still queued, account not blocked (by any process).
        got = conn.execute(sql.send, params).first()
        if got is None:
            _refuse(bool(conn.execute(sql.is_blocked, params).scalar()), account_key)
        # attempts counts every call ever begun for this row, so 1 means no earlier attempt rows.
        sent_before = got.attempts > 1 and conn.execute(sql.sent_before, params).first() is not None
        attempt_id = conn.execute(sql.log_attempt, params).scalar_one()
    return Attempt(attempt_id, sent_before, got.budget_used, got.budget_since)


def _refuse(blocked: bool, account_key: str) -> None:
    if blocked:
        raise AccountBlocked(f"JNE account {account_key} is blocked")
    raise LeaseLost("another worker holds this shipment now")


@dataclass(frozen=True)
class AttemptResult:
    """How one JNE call ended, for the attempts log row written by :func:`begin_attempt`."""

    id: int
    outcome: str
    duration_s: float | None
    http_status: int | None
    reason: str | None
    reply: str | None


def _end_attempt(conn: Connection, result: AttemptResult | None) -> None:
    if result is None:
        return
    conn.execute(_worker_sql().end_attempt, _end_params(result))


def _end_params(result: AttemptResult) -> dict[str, Any]:
    return {"p_attempt": result.id, "p_outcome": result.outcome, "p_duration": result.duration_s,
            "p_http_status": result.http_status,
            "p_reason": (result.reason or None) and result.reason[:REPLY_MAX_CHARS],
            "p_reply": (result.reply or None) and result.reply[:REPLY_MAX_CHARS]}


def end_attempt(engine: Engine, result: AttemptResult) -> None:
    """Record how one JNE call ended (when no shipment update goes with it)."""
    with writing(engine) as conn:
        _end_attempt(conn, result)


def record_booked(engine: Engine, shipment_id: int, jne_order_id: str, cnote: str,
                  account_key: str | None, now: datetime, attempt: AttemptResult | None = None) -> None:
    """Mark a shipment booked; unconditional, because a booking at JNE is a fact whoever holds the lease."""
    sql = _worker_sql()
    params = {"p_shipment": shipment_id, "p_cnote": cnote, "p_order_id": jne_order_id, "p_now": now,
              "p_account": account_key}
    if engine.dialect.name == "postgresql":
        with one_statement(engine) as conn:
            if attempt is None:
                conn.execute(sql.booked, params)
            else:
                conn.execute(sql.booked_pg, {**params, **_end_params(attempt)})
        return
    with writing(engine) as conn:
        _end_attempt(conn, attempt)
        conn.execute(sql.booked, params)


@dataclass(frozen=True)
class Settlement:
    """A result other than booked for a claimed shipment, as the booking policy decided it."""

    status: ShipmentStatus
    errors: dict[str, list[str]] = field(default_factory=dict)   # the owner's words, by field
    problems: Sequence[dict[str, Any]] = ()                      # the same as data (Problem.as_dict)
    skip_reason: str | None = None
    next_attempt_at: datetime | None = None                      # when queued again
    block_reason: str | None = None                              # also block the account
    jne_order_id: str | None = None                              # the ORDER_ID mapped (shown before booking)
    mapping_version: str | None = None                           # the mapping files it was tried with


def finish(engine: Engine, claim_: Claim, worker_id: str, result: Settlement, now: datetime, *,
           account_key: str | None = None, attempt: AttemptResult | None = None) -> ShipmentStatus:
    """Write ``result`` if this worker still holds the lease; the status written (raises LeaseLost).

    ``attempt`` (how the JNE call went) is written to the attempts log in the same transaction,
    lease or not: the log says what happened at JNE. A result that a newer snapshot (arrived while
    this worker was busy) could change is not written: the row goes back to the queue for the newer
    data and QUEUED is returned. A ``block_reason`` also blocks ``account_key`` so no other
    shipment of it is sent.
    """
    s = shipments
    mine = sa.and_(s.c.id == claim_.id, s.c.lease_owner == worker_id, s.c.status == ShipmentStatus.QUEUED.value)
    values: dict[str, Any] = {"status": result.status.value, "updated_at": now, "lease_owner": None,
                              "lease_until": None, "next_attempt_at": result.next_attempt_at,
                              "errors": dict(result.errors), "problems": list(result.problems)}
    if result.status is not ShipmentStatus.QUEUED:
        values["skip_reason"] = result.skip_reason
    if account_key is not None:
        values["account_key"] = account_key
    if result.jne_order_id:
        values["jne_order_id"] = result.jne_order_id[:64]
    if result.mapping_version:
        values["mapping_version"] = result.mapping_version
    with writing(engine) as conn:
        _end_attempt(conn, attempt)
        if result.block_reason is not None and account_key is not None:
            conn.execute(dialect_insert(conn, account_blocks).values(
                account_key=account_key, reason=result.block_reason, blocked_at=now,
            ).on_conflict_do_nothing(index_elements=["account_key"]))
        if result.status in REQUEUED_BY_NEW_SNAPSHOT:
            moved = conn.execute(sa.update(s).where(mine, s.c.snapshot_version != claim_.snapshot_version)
                                 .values(**{**requeue_values(now), "budget_used": s.c.budget_used,
                                            "budget_since": s.c.budget_since},
                                         lease_owner=None, lease_until=None)
                                 .returning(s.c.id)).first()
            if moved is not None:
                return ShipmentStatus.QUEUED
        done = conn.execute(sa.update(s).where(mine).values(**values).returning(s.c.id)).first()
    if done is None:
        raise LeaseLost("another worker holds this shipment now; the result was not written")
    return result.status


def release(engine: Engine, claim_: Claim, worker_id: str, now: datetime) -> None:
    """Give a claimed row back untouched (graceful stop before its JNE call): due again now."""
    s = shipments
    with writing(engine) as conn:
        conn.execute(sa.update(s).where(s.c.id == claim_.id, s.c.lease_owner == worker_id,
                                        s.c.status == ShipmentStatus.QUEUED.value)
                     .values(lease_owner=None, lease_until=None, next_attempt_at=now))


def extend_lease(engine: Engine, claim_: Claim, worker_id: str, now: datetime, lease_s: float) -> bool:
    """Keep holding a claimed row a while longer; False when the lease was lost."""
    s = shipments
    until = now + timedelta(seconds=lease_s)
    with writing(engine) as conn:
        got = conn.execute(sa.update(s).where(s.c.id == claim_.id, s.c.lease_owner == worker_id,
                                              s.c.status == ShipmentStatus.QUEUED.value)
                           .values(lease_until=until, next_attempt_at=until).returning(s.c.id)).first()
    return got is not None

