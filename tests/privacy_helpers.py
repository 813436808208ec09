"""Orders carrying marked personal data, a configuration for them, and ways to look for the marks.

Every order made here holds its customer's name, phone, e-mail, street address and note as marked
strings (``Marks``) in every place the platform puts them, so a test can search a whole database,
its files or a log for them afterwards. Each order gets its own marks (``Marks.of(tag)``), so a test
can tell an erased order's data from a kept one's.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from integration import ledger
from integration.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "orders"
MAPPINGS = ROOT / "mappings"
API_KEY = "25c898a9faea1a100859ecd9ef674548"  # the sandbox's account: the document's test key
SECRETS = {"shopify": "shp-secret-privacy-0123456789", "woocommerce": "wc-secret-privacy-0123456789"}
SHOPS = {"shopify": "toko-privasi.myshopify.com", "woocommerce": "https://toko-privasi.example"}
STORES = {"shopify": "toko-privasi", "woocommerce": "toko-privasi-woo"}


@dataclass(frozen=True)
class Marks:
    """One customer's marked personal data; ``all`` is what must (or must not) be found later."""

    name: str
    surname: str
    street: str
    phone: str       # as the shop has it; the mapping sends +62..., both end in ``phone_tail``
    phone_tail: str
    email: str
    note: str

    @classmethod
    def of(cls, tag: str) -> Marks:
        """Marks unlike any other test's: ``tag`` is two to four digits."""
        return cls(name=f"PII-NAME-{tag}", surname=f"PIISURNAME{tag}", street=f"PII-ADDR-{tag}",
                   phone=f"0812{tag.zfill(4)[-4:]}7{tag.zfill(4)[-3:]}",
                   phone_tail=f"{tag.zfill(4)[-4:]}7{tag.zfill(4)[-3:]}",
                   email=f"pii-mail-{tag}@example.com", note=f"PII-NOTE-{tag}")

    @property
    def all(self) -> tuple[str, ...]:
        return (self.name, self.surname, self.street, self.phone_tail, self.email, self.note)

    def found_in(self, text: str) -> list[str]:
        """The marks present in ``text`` (any case: the mapping upper-cases names)."""
        lower = text.lower()
        return [m for m in self.all if m.lower() in lower]


def _address(marks: Marks, address: dict[str, Any]) -> dict[str, Any]:
    return {**address, "first_name": marks.name, "last_name": marks.surname,
            "name": f"{marks.name} {marks.surname}", "address1": f"Jl. {marks.street} No. 88",
            "phone": marks.phone}


def shopify_order(number: int, marks: Marks, fixture: str = "prepaid_jakarta") -> tuple[str, dict[str, Any]]:
    """(topic, order): a Shopify fixture as order ``number`` of customer ``number * 10``, marked throughout."""
    data = json.loads((FIXTURES / "shopify" / f"{fixture}.json").read_text(encoding="utf-8"))
    order = copy.deepcopy(data["order"])
    order.update(id=6_100_000_000_000 + number, order_number=number, number=number - 1000, name=f"#{number}",
                 email=marks.email, contact_email=marks.email, phone=marks.phone, note=f"{marks.note} tolong",
                 note_attributes=[{"name": "gift", "value": f"for {marks.name}"}],
                 client_details={"browser_ip": "203.0.113.77", "user_agent": "Mozilla/5.0 (PII test)"})
    for key in ("shipping_address", "billing_address"):
        if isinstance(order.get(key), dict):
            order[key] = _address(marks, order[key])
    customer = order.get("customer") or {}
    customer.update(id=number * 10, email=marks.email, phone=marks.phone, first_name=marks.name,
                    last_name=marks.surname)
    if isinstance(customer.get("default_address"), dict):
        customer["default_address"] = _address(marks, customer["default_address"])
    order["customer"] = customer
    return data["topic"], order


def woocommerce_order(number: int, marks: Marks, fixture: str = "prepaid_jakarta") -> tuple[str, dict[str, Any]]:
    """(topic, order): a WooCommerce fixture as order ``number`` of customer ``number * 10``, marked."""
    data = json.loads((FIXTURES / "woocommerce" / f"{fixture}.json").read_text(encoding="utf-8"))
    order = copy.deepcopy(data["order"])
    order.update(id=number, number=str(number), customer_id=number * 10, customer_note=f"{marks.note} tolong",
                 customer_ip_address="203.0.113.78", customer_user_agent="Mozilla/5.0 (PII test)")
    for key in ("billing", "shipping"):
        block = dict(order.get(key) or {})
        block.update(first_name=marks.name, last_name=marks.surname, address_1=f"Jl. {marks.street} No. 88",
                     phone=marks.phone)
        if key == "billing":
            block["email"] = marks.email
        order[key] = block
    return data["topic"], order


def store_block(platform: str) -> dict[str, Any]:
    """A store with the facts the order fixtures were written for (TOKO CONTOH, Jakarta)."""
    return {
        "platform": platform, "shop": SHOPS[platform], "webhook_secret": SECRETS[platform],
        "mapping": str(MAPPINGS / f"{platform}.yaml"),
        "lookups": {"destinations": str(FIXTURES / "jne_destinations_test.csv"),
                    "hs_codes": str(FIXTURES / "hs_codes_test.csv")},
        "order_prefix": "PV" if platform == "shopify" else "PW",
        "account": {"cust_id": "10950700", "branch": "CGK000", "merchant_id": "TOKOCONTOH",
                    "origin_code": "CGK10000"},
        "pickup": {"name": "TOKO CONTOH", "pic": "RINA", "phone": "+6281234567890",
                   "address": "JL. KEMANG RAYA NO 5", "district": "MAMPANG PRAPATAN", "city": "JAKARTA SELATAN"},
        "shipper": {"name": "TOKO CONTOH", "addr1": "JL. KEMANG RAYA NO 5", "addr2": "MAMPANG PRAPATAN",
                    "city": "JAKARTA SELATAN", "zip": "12730", "region": "DKI JAKARTA", "contact": "RINA",
                    "phone": "+6281234567890"},
    }


def write_config(directory: Path, database_url: str, jne_url: str, **top: Any) -> Path:
    """``directory/integration.yaml`` for one Shopify and one WooCommerce store booking at ``jne_url``."""
    doc = {
        "database_url": database_url,
        "jne": {"url": jne_url, "username": "TESTAPI", "api_key": API_KEY, "timeout_s": 10},
        "stores": {STORES[p]: store_block(p) for p in ("shopify", "woocommerce")},
        "worker": {"concurrency": 4, "max_attempts": 3, "backoff_base_s": 0.01, "backoff_max_s": 0.05,
                   "lease_s": 10, "poll_s": 0.05},
        **top,
    }
    path = Path(directory) / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def make_config(directory: Path, database_url: str, jne_url: str, **top: Any) -> Config:
    """:func:`write_config`, loaded."""
    return load_config(write_config(directory, database_url, jne_url, **top))


def ingest(engine: sa.Engine, platform: str, topic: str, order: dict[str, Any]) -> str:
    """Store ``order`` as the webhook receiver does (customer id included); its order ref."""
    number = order.get("name") if platform == "shopify" else order.get("number")
    customer = (order.get("customer") or {}).get("id") if platform == "shopify" else order.get("customer_id")
    ledger.ingest(engine, ledger.Delivery(
        store_id=STORES[platform], platform=platform, topic=topic, event_id=f"ev-{order['id']}-{topic}",
        order_ref=str(order["id"]), order_number=str(number), order_updated_at=None,
        headers={"Content-Type": "application/json", "X-Test": "1"}, body=json.dumps(order).encode(),
        received_at=datetime.now(UTC), customer_ref=str(customer) if customer else None))
    return str(order["id"])


def dump_every_table(engine: sa.Engine) -> str:
    """The text of every row of every table the database has (not only the ledger's), one string."""
    parts: list[str] = []
    with engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            for row in conn.execute(sa.select(table)):
                parts += [bytes(v).decode("utf-8", "replace") if isinstance(v, bytes | memoryview)
                          else json.dumps(v, default=str, ensure_ascii=False) for v in row]
    return "\n".join(parts)


def sqlite_file_bytes(database_url: str) -> bytes:
    """The bytes of a SQLite database file and its WAL (and rollback journal) as they are on disk."""
    path = Path(sa.engine.make_url(database_url).database)
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal"),
                                               path.with_name(path.name + "-journal")) if p.exists())


def set_settled_days_ago(engine: sa.Engine, days: float, *refs: str) -> None:
    """Move these shipments' last change ``days`` into the past (an order settled long ago)."""
    s = ledger.shipments
    with engine.begin() as conn:
        moved = conn.execute(sa.update(s).where(s.c.order_ref.in_(refs)).values(
            updated_at=datetime.now(UTC) - timedelta(days=days))).rowcount
    assert moved == len(refs), (moved, refs)
