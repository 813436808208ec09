"""What the stores page shows of a store's shop API side and of its mapping files, from the ledger only.

Rendering a page never calls the shop: the write-back counts, the last reconcile pass and what it
found are what the worker recorded (``writebacks``, ``shop_cursors``). Nothing records the state of
the shop's webhooks today (``jne-integration webhooks list`` asks the shop), so the page says so
instead of guessing.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from integration import ledger
from integration.config import Store
from integration.dashboard import queries
from integration.mapping.files.live import follow, refused_edits


@dataclass(frozen=True)
class ShopSide:
    """A store with an ``api:`` block: write-backs by state, the last reconcile pass."""

    writeback_on: bool
    writebacks: dict[str, int]          # empty when write-back is off
    reconcile_every_s: int              # 0: the worker runs no reconcile pass
    reconcile: Any | None               # shop_cursors row: position, updated_at, detail (None: no pass yet)

    @property
    def reconcile_failed(self) -> str | None:
        """The shop's error of the last pass, when it failed."""
        detail = (self.reconcile.detail or {}) if self.reconcile is not None else {}
        return str(detail["failed"]) if detail.get("failed") else None

    @property
    def reconcile_found(self) -> dict[str, Any]:
        """What the last successful pass did: seen, taken_in, pages, since."""
        detail = (self.reconcile.detail or {}) if self.reconcile is not None else {}
        return {} if detail.get("failed") else dict(detail)


@dataclass(frozen=True)
class RefusedEdit:
    """Mapping files edited into a state that does not load: the version still in use and why."""

    version: str
    problems: list[str]                 # each names file:line, as `jne-integration check` prints them


def shop_side(conn: Connection, store: Store, writing_back: Set[str]) -> ShopSide | None:
    """The store's shop API side as the ledger recorded it; None without an ``api:`` block."""
    settings = store.shop_api
    if settings is None or settings.api is None:
        return None
    on = store.id in writing_back
    return ShopSide(on, queries.writeback_counts(conn, store.id) if on else {},
                    settings.reconcile.every_s, queries.shop_cursor(conn, store.id, ledger.writeback.RECONCILE))


def refused_edit(store: Store) -> RefusedEdit | None:
    """The store's refused mapping edit (live reload kept the last good version), or None."""
    found = refused_edits([store]).get(store.id)
    live = follow(store.mapping)
    if found is None or live is None:
        return None
    return RefusedEdit(str(found["version"]), list(live.refused))
