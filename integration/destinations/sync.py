"""``destinations sync``: fetch an account's destination and origin lists from JNE and store them.

``POST <jne origin>/insert/getdestination`` and ``/insert/getorigin`` with the form ``username``,
``api_key``, where ``<jne origin>`` is the scheme, host and port of the account's ``jne.url``
unless ``jne.destinations_url`` / ``jne.origins_url`` name the full URLs. Both lists are fetched
before anything is written, so a sync stores both or neither.

A sync that would drop more than a tenth of the stored codes of either list is refused unless
forced: a truncated answer (a JNE timeout mid-list, a maintenance page that parses) must not
silently remove destinations that orders need. An empty list is never stored.

The api_key goes in the form body only; no message, log line or summary carries it (JNE's own
answers are masked before they are quoted).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

import requests

from integration.config import EMBEDDED_SANDBOX, Config, JNEAccount, load_config
from integration.destinations.jne_list import (
    JNEList,
    JNEPlace,
    account_label,
    list_path,
    load_list,
    parse_rows,
    save_list,
)
from integration.errors import GiveUpError, RetryableError

__all__ = ["describe", "DESTINATIONS_PATH", "ORIGINS_PATH", "MAX_SHRINK", "CredentialsRefused", "JNEUnreachable",
           "ListRefused", "SyncError", "destinations_sync", "fetch_list", "list_urls", "sync_account"]

log = logging.getLogger("integration.destinations")

DESTINATIONS_PATH = "/insert/getdestination"
ORIGINS_PATH = "/insert/getorigin"
MAX_SHRINK = 0.10  # a sync may drop at most this share of the stored codes without --force
_SNIPPET = 200


class SyncError(GiveUpError):
    """The sync did not store anything; ``reason`` says why in words for the owner."""


class CredentialsRefused(SyncError):
    """JNE does not know the account's username and api_key."""


class JNEUnreachable(SyncError, RetryableError):
    """No usable answer from JNE (connection refused, timeout, HTTP error, not JSON): try again later."""


class ListRefused(SyncError):
    """The new list would drop too many codes (or is empty); nothing was stored."""


@dataclass(frozen=True)
class ListURLs:
    """Where an account's two lists are fetched."""

    destinations: str
    origins: str


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SyncError(f"jne.url {url!r} is not an http(s) URL; the lists are fetched from its scheme, host "
                        f"and port (or set jne.destinations_url and jne.origins_url)")
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def list_urls(jne_url: str, destinations_url: str | None = None, origins_url: str | None = None) -> ListURLs:
    """The two list URLs of an account: the overrides, else ``<scheme://host:port of jne_url>/insert/...``."""
    if destinations_url and origins_url:
        return ListURLs(destinations_url, origins_url)
    base = _origin(jne_url)
    return ListURLs(destinations_url or base + DESTINATIONS_PATH, origins_url or base + ORIGINS_PATH)


class _Masker:
    """Removes the api_key, raw or URL-encoded, from any text before it is shown or logged."""

    def __init__(self, key: str):
        self._forms = {f for f in (key, quote_plus(key), quote(key, safe="")) if f}

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "***")
        return text

    def __repr__(self) -> str:
        return "_Masker('***')"


def fetch_list(url: str, username: str, api_key: str, timeout_s: float = 30.0,
               session: requests.Session | None = None, what: str = "destination"
               ) -> tuple[list[JNEPlace], dict[str, int]]:
    """POST for one list and parse it: (rows kept, rows ignored by reason); raises SyncError."""
    mask = _Masker(api_key)
    poster = session or requests
    try:
        response = poster.post(url, data={"username": username, "api_key": api_key}, timeout=(5, timeout_s),
                               headers={"Accept": "application/json"}, allow_redirects=False)
    except requests.Timeout:
        raise JNEUnreachable(f"JNE did not answer the {what} list request at {mask(url)} within {timeout_s:g} s; "
                             f"nothing was changed, try again later") from None
    except requests.RequestException as exc:
        raise JNEUnreachable(f"JNE could not be reached at {mask(url)} ({type(exc).__name__}); check jne.url "
                             f"(or jne.destinations_url / jne.origins_url) and the network; nothing was changed"
                             ) from None
    body = response.content.decode("utf-8", errors="replace")
    if response.status_code >= 300:
        raise JNEUnreachable(f"JNE answered HTTP {response.status_code} to the {what} list request at "
                             f"{mask(url)}: {mask(_snippet(body))}; nothing was changed")
    try:
        data = json.loads(body)
    except ValueError:
        raise JNEUnreachable(f"JNE's answer to the {what} list request at {mask(url)} is not JSON: "
                             f"{mask(_snippet(body))}; nothing was changed") from None
    if isinstance(data, dict) and data.get("error") and not data.get("detail"):
        error = mask(_snippet(str(data["error"])))
        if "not found" in error.lower() or "api key" in error.lower():
            raise CredentialsRefused(f"JNE refused the credentials of account {username!r} ({error}); check "
                                     f"jne.username and jne.api_key; nothing was changed")
        raise SyncError(f"JNE answered the {what} list request with an error: {error}; nothing was changed")
    if not isinstance(data, dict) or not isinstance(data.get("detail"), list):
        raise JNEUnreachable(f"JNE's answer to the {what} list request at {mask(url)} has no \"detail\" list: "
                             f"{mask(_snippet(body))}; nothing was changed")
    kept, ignored = parse_rows(data["detail"])
    return kept, dict(ignored)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def _shrink_check(old: JNEList | None, new: JNEList, force: bool) -> dict[str, dict[str, int]]:
    """Codes added and removed per list; raises ListRefused for an empty list or a big shrink unforced."""
    changes: dict[str, dict[str, int]] = {}
    for which in ("destinations", "origins"):
        new_codes = new.codes(which)
        if not new_codes:
            raise ListRefused(f"JNE's {which} list came back empty (no usable rows); nothing was stored")
        old_codes = old.codes(which) if old else set()
        removed = old_codes - new_codes
        changes[which] = {"codes": len(new_codes), "added": len(new_codes - old_codes), "removed": len(removed)}
        if old_codes and len(removed) > MAX_SHRINK * len(old_codes) and not force:
            raise ListRefused(
                f"the new {which} list would drop {len(removed)} of the {len(old_codes)} stored codes "
                f"({len(removed) / len(old_codes):.0%}, more than a tenth), e.g. {', '.join(sorted(removed)[:5])}; "
                f"JNE may have answered a partial list. Nothing was stored; run again later, or with --force "
                f"to accept it")
    return changes


def sync_account(account: JNEAccount, directory: Path, force: bool = False, *,
                 destinations_url: str | None = None, origins_url: str | None = None,
                 fetch_from: str | None = None) -> dict[str, Any]:
    """Fetch, check and store one account's lists; a summary, or SyncError saying why nothing changed.

    ``fetch_from`` replaces the account's url for fetching only (the embedded sandbox), so that the
    file stays named after the configured account.
    """
    urls = list_urls(fetch_from or account.url, destinations_url or getattr(account, "destinations_url", None),
                     origins_url or getattr(account, "origins_url", None))
    path = list_path(directory, account.username, account.url)
    label = account_label(account.username, account.url)
    with requests.Session() as session:
        destinations, ignored_d = fetch_list(urls.destinations, account.username, account.api_key,
                                             account.timeout_s * 2, session)
        origins, ignored_o = fetch_list(urls.origins, account.username, account.api_key,
                                        account.timeout_s * 2, session, what="origin")
    new = JNEList.new(destinations, origins, label,
                      {"destinations": urls.destinations, "origins": urls.origins},
                      {"destinations": ignored_d, "origins": ignored_o})
    old = load_list(path)
    changes = _shrink_check(old, new, force)
    kept = save_list(path, new)
    log.info("JNE lists synced for %s: %d destinations, %d origins, %d rows ignored%s", label,
             changes["destinations"]["codes"], changes["origins"]["codes"],
             sum(ignored_d.values()) + sum(ignored_o.values()), " (forced)" if force else "")
    return {"account": label, "file": str(path), "previous": str(kept) if kept else None,
            "synced_at": new.synced_at, "forced": force, **changes,
            "ignored": {"destinations": ignored_d, "origins": ignored_o}}


def config_directory(config: Config) -> Path:
    """The folder lists are stored in: the configuration file's, or the working directory for the demo."""
    return config.path.resolve().parent if config.path is not None else Path(os.getcwd())


def destinations_sync(config: Config | str | os.PathLike[str] | None, store_id: str | None = None,
                      force: bool = False) -> dict[str, Any]:
    """Sync the lists of the store's account (every account when no store): ``{"synced": [...], "failed": [...]}``.

    Each failed account carries the reason in words; nothing of a failed account is changed.
    """
    if not isinstance(config, Config):
        config = load_config(config)
    if store_id is not None:
        store = config.stores.get(store_id)
        if store is None:
            raise SyncError(f"unknown store {store_id!r} (stores: {', '.join(sorted(config.stores)) or 'none'})")
        accounts = {store.jne.key: store.jne}
    else:
        accounts = config.accounts()
    directory = config_directory(config)
    summary: dict[str, Any] = {"synced": [], "failed": []}
    server = None
    try:
        for account in accounts.values():
            fetch_from = None
            if account.url == EMBEDDED_SANDBOX:
                if server is None:
                    from integration.jne.sandbox import create_sandbox_app
                    from integration.serving import serve_in_thread

                    server = serve_in_thread(create_sandbox_app())
                fetch_from = server.url
            try:
                summary["synced"].append(sync_account(account, directory, force, fetch_from=fetch_from))
            except SyncError as exc:
                log.warning("JNE lists not synced for %s: %s", account_label(account.username, account.url),
                            exc.reason)
                summary["failed"].append({"account": account_label(account.username, account.url),
                                          "reason": exc.reason})
    finally:
        if server is not None:
            server.stop()
    return summary


def describe(summary: dict[str, Any]) -> list[str]:
    """The summary of :func:`destinations_sync` as lines for a person (what the CLI prints)."""
    lines = []
    for done in summary.get("synced", []):
        d, o = done["destinations"], done["origins"]
        ignored = dict(done["ignored"]["destinations"])
        for reason, count in done["ignored"]["origins"].items():
            ignored[reason] = ignored.get(reason, 0) + count
        noise = ", ".join(f"{n} {reason}" for reason, n in sorted(ignored.items())) or "none"
        lines.append(f"{done['account']}: {d['codes']:,} destinations (+{d['added']:,} -{d['removed']:,}), "
                     f"{o['codes']:,} origins (+{o['added']:,} -{o['removed']:,}){' (forced)' if done['forced'] else ''}")
        lines.append(f"  rows ignored: {noise}")
        lines.append(f"  stored in {done['file']}" + (f"; the list before kept in {done['previous']}"
                                                       if done["previous"] else ""))
    for failed in summary.get("failed", []):
        lines.append(f"{failed['account']}: not synced: {failed['reason']}")
    return lines
