"""Property: whatever JSON arrives, the default mappings never raise, and what they produce without
an error JNE's schema accepts (every schema complaint is about a field the mapping already flagged)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from fixtures.expect import fixtures
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mapping_fixtures import MAPPINGS, mapping_for, store_facts

from integration.jne.fields import FIELD_NAMES
from integration.jne.schema import validate_booking
from integration.mapping import MappingResult

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)
FIXTURES = {p: [fx for fx in fixtures(p)] for p in ("shopify", "woocommerce")}
TOPICS = {"shopify": ["orders/paid", "orders/create", "orders/updated", "orders/cancelled"],
          "woocommerce": ["order.created", "order.updated", "order.deleted"]}

ORDER_KEYS = {
    "shopify": ["id", "name", "order_number", "email", "phone", "financial_status", "fulfillment_status",
                "payment_gateway_names", "currency", "total_price", "subtotal_price", "total_tax",
                "total_price_set", "subtotal_price_set", "total_tax_set", "total_weight", "note", "tags",
                "test", "cancelled_at", "shipping_address", "customer", "line_items", "shipping_lines",
                "note_attributes", "billing_address"],
    "woocommerce": ["id", "number", "status", "currency", "total", "total_tax", "shipping_total",
                    "discount_total", "payment_method", "date_paid", "customer_note", "billing", "shipping",
                    "line_items", "shipping_lines", "meta_data"],
}
ADDRESS_KEYS = ["first_name", "last_name", "name", "company", "address1", "address2", "address_1", "address_2",
                "city", "province", "province_code", "state", "zip", "postcode", "country", "phone",
                "latitude", "longitude"]
LINE_KEYS = ["id", "sku", "title", "name", "quantity", "price", "grams", "requires_shipping", "properties",
             "meta_data", "total", "price_set"]

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "0812-3456-7890", "+6281234567890", "62812345678", "12730", "JK", "KR",
                     "BTH10000", "Cash on Delivery (COD)", "cod", "processing", "paid", "pending", "IDR",
                     "185000.00", "Rp 185.000", "-5", "0", "1e309", "Jl. Kemang Raya No. 12", "Nguyễn Thị Ánh",
                     "🙂🙂🙂", "\x00\x1f", "0901.21", "JNE YES", "x" * 400, "é" * 300]),
    st.text(min_size=500, max_size=3000),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False), texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def shaped(keys: list[str], values: st.SearchStrategy) -> st.SearchStrategy:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


address = shaped(ADDRESS_KEYS, json_values)
line = shaped(LINE_KEYS, st.one_of(json_values, st.lists(
    st.fixed_dictionaries({"name": texts, "value": json_values}), max_size=3)))


def order_values(platform: str) -> st.SearchStrategy:
    special = {"shipping_address": address, "billing_address": address, "shipping": address,
               "billing": address, "customer": shaped(["phone", "first_name"], json_values),
               "line_items": st.lists(st.one_of(line, json_values), max_size=6),
               "shipping_lines": st.lists(shaped(["title", "code", "method_title"], json_values), max_size=2)}
    return st.fixed_dictionaries({}, optional={
        key: special.get(key, json_values) for key in ORDER_KEYS[platform]})


def mutate(order: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """A real fixture order with a few subtrees replaced by arbitrary JSON."""
    order = copy.deepcopy(order)
    for _ in range(data.draw(st.integers(1, 4))):
        node: Any = order
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
            if not keys:
                break
            key = data.draw(st.sampled_from(keys))
            if data.draw(st.booleans()) or not isinstance(node[key], dict | list):
                node[key] = data.draw(json_values)
                break
            node = node[key]
    return order


def check(platform: str, order: Any, topic: Any, store: str = "toko-contoh") -> None:
    mapping = mapping_for(MAPPINGS / f"{platform}.yaml")
    result = mapping.apply(order, store_facts(store, platform), {"topic": topic}, NOW)
    assert isinstance(result, MappingResult)
    assert isinstance(result.book, bool)
    assert result.skip_reason is None or isinstance(result.skip_reason, str)
    assert set(result.fields) <= set(FIELD_NAMES)
    assert all(isinstance(v, str) and v == v.strip() and v for v in result.fields.values())
    assert all(isinstance(k, str) and v and all(isinstance(m, str) for m in v) for k, v in result.errors.items())
    # what the mapping's problems stand for, as preview and the worker read them: the address rule's
    # RECEIVER_ADDR covers its lines, an address abroad (RECEIVER_COUNTRY) every receiver place field
    flagged = mapping.covered(result.problems)
    for name, messages in validate_booking(result.fields).items():
        assert name in flagged, (name, messages, result.fields.get(name))


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=st.data())
def test_order_shaped_json_never_raises_and_unflagged_fields_pass_the_schema(data):
    platform = data.draw(st.sampled_from(["shopify", "woocommerce"]))
    order = data.draw(order_values(platform))
    check(platform, order, data.draw(st.sampled_from(TOPICS[platform])))


@SETTINGS
@given(data=st.data())
def test_real_orders_with_damaged_parts(data):
    platform = data.draw(st.sampled_from(["shopify", "woocommerce"]))
    fx = data.draw(st.sampled_from(FIXTURES[platform]))
    check(platform, mutate(fx.order, data), fx.topic, fx.store)


@settings(max_examples=60, deadline=None)
@given(order=json_values, topic=json_values)
def test_any_json_at_all(order, topic):
    check("shopify", order, topic)
    check("woocommerce", order, topic)


# -- loading: any document, only ConfigError --------------------------------------------------------

VOCABULARY = ["extends", "platform", "tables", "vars", "trigger", "fields", "rules", "book_when", "skip_when",
              "status", "value", "const", "when", "default", "then", "address", "cod", "batam", "pickup", "from",
              "into", "max_bytes", "amount", "lines", "hs_code", "sku_table", "file", "keys", "ORDER_ID",
              "RECEIVER_NAME", "WEIGHT", "upper", "phone", "lookup", "map", "grams_to_kg", "destinations"]
EXPRESSIONS = ["order.a", "order.items[1:2]", "!order.x.y", "concat(order.a)", "order.[", "nope(order.a)",
               "`1`", "order.a || 'x'", "sort_by(order.i, &q)", "vars.x", "line.sku", "fields.X", "{a: order.b}"]
yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.sampled_from(VOCABULARY + EXPRESSIONS),
              st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(VOCABULARY), inner, max_size=4)),
    max_leaves=25)


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(VOCABULARY), yaml_values, max_size=6))
def test_any_mapping_document_loads_or_gives_config_errors(tmp_path_factory, doc):
    import yaml

    from integration.errors import ConfigError
    from integration.mapping import load_mapping

    folder = tmp_path_factory.mktemp("m")
    (folder / "destinations.csv").write_text("zip,city,district,code\n12730,A,,CGK10000\n", encoding="utf-8")
    path = folder / "m.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        mapping = load_mapping(path)
    except ConfigError as exc:
        assert exc.problems and all(p.startswith(f"{path}:") for p in exc.problems), exc.problems
        assert not any("could not be checked" in p for p in exc.problems), exc.problems
        return
    result = mapping.apply({"a": "x", "items": [{"q": 1}]}, {}, {"topic": "t"}, NOW)
    assert isinstance(result, MappingResult)
