"""Problems as data: every code in English and Bahasa Indonesia, with the same parameters, and defined.

Imports every module of the ``integration`` package (so every ``define`` has run), then checks the
catalogue, and reads the source of every module for codes that are filed but never defined. Last,
a few real problems of real fixture orders are rendered in Indonesian and must read as Indonesian.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import pkgutil
import re
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import integration
from integration.config import load_config
from integration.jne.schema import booking_problems
from integration.pipeline import prepare
from integration.problems import LANGUAGES, Problem, catalog, messages, render

ROOT = Path(__file__).resolve().parents[1]
ORDERS = ROOT / "tests" / "fixtures" / "orders"
NOW = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)

MODULES = [importlib.import_module(info.name)
           for info in pkgutil.walk_packages(integration.__path__, prefix="integration.")]
CATALOG = catalog()
_FORMATTER = string.Formatter()


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name}


def test_the_package_defines_problem_codes():
    # the mapping, its rules and transforms, the trigger and JNE's schema all file problems
    prefixes = {code.split(".", 1)[0] for code in CATALOG}
    assert {"expression", "value", "transform", "lookup", "rule", "trigger", "pickup", "mapping", "jne"} <= prefixes


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_code_has_every_language_with_the_same_parameters(code):
    words = CATALOG[code]
    assert set(words) == set(LANGUAGES), f"{code} lacks {set(LANGUAGES) - set(words)}"
    assert all(words[language].strip() for language in LANGUAGES), code
    named = {language: placeholders(words[language]) for language in LANGUAGES}
    assert len({frozenset(n) for n in named.values()}) == 1, f"{code}: the languages name {named}"


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_code_renders_with_sample_parameters_in_every_language(code):
    params = {name: f"<{name}>" for name in placeholders(CATALOG[code]["en"])}
    rendered = {language: render(Problem("FIELD", code, params), language) for language in LANGUAGES}
    for language, text in rendered.items():
        assert all(value in text for value in params.values()), (language, text)
        assert "{" not in text.replace("{const", "") and "<?>" not in text, (language, text)
    # a code whose words are more than its parameters has its own Indonesian words, not a copy
    if _FORMATTER.parse(CATALOG[code]["en"]) and re.sub(r"\{\w+\}", "", CATALOG[code]["en"]).strip():
        assert rendered["id"] != rendered["en"], f"{code}: the Indonesian words are the English ones"


# -- codes filed in the source ------------------------------------------------------------------

NAMESPACES = {code.split(".", 1)[0] for code in CATALOG}
CODE_SHAPE = re.compile(rf"^({'|'.join(sorted(NAMESPACES))})\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
DEFINERS = {"define", "number_codes"}  # calls whose text arguments make codes rather than file them


def _known(code: str) -> bool:
    """Defined, or the prefix a definer builds codes under (``number_codes("value.not_money", ...)``)."""
    return code in CATALOG or any(c.startswith(code + ".") for c in CATALOG)


def _resolve(node: ast.AST, module: Any) -> Any:
    """The module-level value an expression names (NAME, module.NAME, NAME[const]), or None."""
    if isinstance(node, ast.Name):
        return getattr(module, node.id, None)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, module)
        return getattr(base, node.attr, None) if inspect.ismodule(base) else None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        base = _resolve(node.value, module)
        return base.get(node.slice.value, KeyError) if isinstance(base, dict) else None
    return None


def _filed_codes(module: Any) -> list[tuple[int, str, Any]]:
    """(line, what, value) for every code-shaped text in the module that is not a definition.

    Left out: the arguments of ``define`` (they make codes) and ``rule=`` arguments (a rule's name,
    such as ``trigger.book_when``, is where a problem comes from, not what it says).
    """
    tree = ast.parse(inspect.getsource(module))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in DEFINERS:
                skipped |= {id(child) for child in ast.walk(node)}
            skipped |= {id(k.value) for k in node.keywords if k.arg == "rule"}
    found: list[tuple[int, str, Any]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_SHAPE.match(node.value):
            found.append((node.lineno, repr(node.value), node.value))
        elif isinstance(node, ast.Call):
            # a code passed by name: PROBLEM_CODE, CODES[key], module.CODE
            for arg in (*node.args, *(k.value for k in node.keywords)):
                if isinstance(arg, ast.Name | ast.Attribute | ast.Subscript):
                    value = _resolve(arg, module)
                    if value is KeyError or (isinstance(value, str) and CODE_SHAPE.match(value)):
                        found.append((arg.lineno, ast.unparse(arg), value))
    return found


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_every_code_filed_in_the_source_is_defined(module):
    undefined = [f"{module.__name__}:{line}: {what}" for line, what, value in _filed_codes(module)
                 if value is KeyError or not _known(value)]
    assert undefined == [], "filed but never defined with define(code, en=..., id=...)"


def test_the_source_check_finds_an_undefined_code(tmp_path, monkeypatch):
    # the check above must be able to fail: a module filing a literal code nobody defined
    (tmp_path / "filing_example.py").write_text(
        "from integration.problems import Problem\n"
        "def check(value):\n"
        "    return Problem('RECEIVER_ZIP', 'rule.nobody.defined_this', {'value': value})\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("filing_example")
    assert [value for _, _, value in _filed_codes(module) if not _known(value)] == ["rule.nobody.defined_this"]


# -- real problems in Bahasa Indonesia ----------------------------------------------------------

ENGLISH = re.compile(r"\b(the|is|are|of|not|required|must|bytes|cannot|lines|rule|shorten|accepts|blank|no value)\b",
                     re.IGNORECASE)


@pytest.fixture(scope="module")
def demo():
    return load_config(None, env={})


def order(platform: str, name: str) -> dict:
    return json.loads((ORDERS / platform / f"{name}.json").read_text(encoding="utf-8"))["order"]


def test_a_missing_receiver_phone_reads_as_indonesian(demo):
    no_phone = copy.deepcopy(order("shopify", "prepaid_jakarta"))
    for holder in (no_phone, no_phone.get("shipping_address"), no_phone.get("billing_address"),
                   no_phone.get("customer")):
        if isinstance(holder, dict):
            holder["phone"] = None
    result = prepare(demo.stores["demo"], "orders/paid", no_phone, NOW)
    (mapping_words,) = result.messages("id")["RECEIVER_PHONE"]
    assert mapping_words.startswith("tidak ada nilai: ") and " kosong (aturan fields.RECEIVER_PHONE di shopify.yaml:" \
        in mapping_words, mapping_words
    assert result.errors["RECEIVER_PHONE"][0].startswith("no value: ")  # the same problem in English
    # JNE's own rule, for a booking that lacks the phone altogether
    fields = {k: v for k, v in prepare(demo.stores["demo"], "orders/paid", order("shopify", "prepaid_jakarta"),
                                       NOW).fields.items() if k != "RECEIVER_PHONE"}
    schema_words = messages(booking_problems(fields), "id")
    assert schema_words == {"RECEIVER_PHONE": ["RECEIVER_PHONE wajib diisi dan tidak boleh kosong"]}
    for text in (mapping_words, *schema_words["RECEIVER_PHONE"]):
        assert not ENGLISH.search(_without_names(text)), text


def test_a_too_long_address_reads_as_indonesian(demo):
    result = prepare(demo.stores["demo"], "orders/paid", order("shopify", "address_too_long"), NOW)
    (words,) = result.messages("id")["RECEIVER_ADDR"]
    assert words.startswith("alamat ini ") and "baris berisi paling banyak 85 byte" in words, words
    assert "persingkat alamatnya (aturan rules.address di shopify.yaml:" in words, words
    assert not ENGLISH.search(_without_names(words)), words
    # and JNE's byte limit on one line, as the schema words it
    (limit,) = messages(booking_problems({"RECEIVER_ADDR1": "JALAN " * 20}), "id")["RECEIVER_ADDR1"]
    assert limit.startswith("RECEIVER_ADDR1 berukuran 120 byte; JNE menerima paling banyak 85 byte: "), limit


def _without_names(text: str) -> str:
    """The words of a message, without quoted values, expressions and file names (not language)."""
    text = re.sub(r"'[^']*'", "", text)
    text = re.sub(r"\S*[._|]\S*", "", text)  # vars.to.phone, shopify.yaml:89, RECEIVER_PHONE, ||
    return text
