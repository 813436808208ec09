"""How fast integration.jne.schema validates a booking, on one core.

Run: python benchmarks/bench_schema.py [--seconds S]

Prints validations per second and µs per validation (best batch, and the median) for a full valid booking (every field of the
document filled, Batam customs fields included) and for an invalid one (several problems), next to
Cerberus' default path (``Validator(schema).validate(doc)``: schema checked and normalized per call)
for comparison.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import cerberus

from integration.jne.schema import SCHEMA, validate_booking

FULL_VALID = {
    "PICKUP_NAME": "TOKO ALI", "PICKUP_DATE": "10-10-2025", "PICKUP_TIME": "16:00", "PICKUP_PIC": "ALI",
    "PICKUP_PIC_PHONE": "+6281234567890", "PICKUP_ADDRESS": "JL. D.I PANJAITAN NO 43", "PICKUP_DISTRICT": "JELUTUNG",
    "PICKUP_CITY": "JAMBI", "PICKUP_SERVICE": "Domestic", "PICKUP_VEHICLE": "MOTOR", "BRANCH": "CGK000",
    "CUST_ID": "10950700", "ORDER_ID": "ALI10012345", "SHIPPER_NAME": "TOKO ALI",
    "SHIPPER_ADDR1": "JL. D.I PANJAITAN NO 43", "SHIPPER_ADDR2": "JELUTUNG", "SHIPPER_ADDR3": "-",
    "SHIPPER_CITY": "JAMBI", "SHIPPER_ZIP": "36124", "SHIPPER_REGION": "JAMBI", "SHIPPER_COUNTRY": "INDONESIA",
    "SHIPPER_CONTACT": "ALI", "SHIPPER_PHONE": "+6281234567890", "RECEIVER_NAME": "SITI NURHALIZA",
    "RECEIVER_ADDR1": "JL SUTERA FERONIA PARK 7", "RECEIVER_ADDR2": "NO 28", "RECEIVER_ADDR3": "BATAM KOTA",
    "RECEIVER_CITY": "BATAM", "RECEIVER_ZIP": "29432", "RECEIVER_REGION": "KEPULAUAN RIAU",
    "RECEIVER_COUNTRY": "INDONESIA", "RECEIVER_CONTACT": "SITI", "RECEIVER_PHONE": "+6285778906781",
    "ORIGIN_CODE": "CGK10000", "DESTINATION_CODE": "BTH10000", "SERVICE_CODE": "REG", "WEIGHT": "2",
    "QTY": "3", "GOODS_DESC": "KAOS DAN BUKU", "GOODS_AMOUNT": "450000", "INSURANCE_FLAG": "N",
    "SPECIAL_INS": "-", "MERCHANT_ID": "TOKOALI", "LAT": "-1.6101", "LON": "103.6131", "TYPE": "PICKUP",
    "COD_FLAG": "YES", "COD_AMOUNT": "475000", "AWB": "", "TAX_VALUE": "0", "ITEM_TYPE": "2",
    "HS_CODE": "300000;2;6109.10.00,150000;1;4901", "NPWP": "01.234.567.8-901.000",
    "RETURN_NAME": "TOKO ALI", "RETURN_ADDR1": "JL. D.I PANJAITAN NO 43", "RETURN_ADDR2": "JELUTUNG",
    "RETURN_ADDR3": "-", "RETURN_CITY": "JAMBI", "RETURN_ZIP": "36124", "RETURN_REGION": "JAMBI",
    "RETURN_COUNTRY": "INDONESIA", "RETURN_CONTACT": "ALI", "RETURN_PHONE": "+6281234567890",
    "RETURN_BRANCH": "CGK000",
}
INVALID = dict(FULL_VALID, RECEIVER_ADDR1="JALAN " * 20, WEIGHT="0", ORDER_ID="ali-1001", INSURANCE_FLAG="0",
               PICKUP_DATE="31-02-2025", RECEIVER_PHONE=" ", HS_CODE="1;1;1,2;2", COD_AMOUNT="0")


def measure(fn, seconds: float, batch: int = 50) -> tuple[float, float]:
    """(best, median) µs per call of ``fn`` over batches run for about ``seconds``.

    The best batch is the figure to compare (what one core does when nothing else runs, as timeit
    recommends); the median shows how much a busy machine adds.
    """
    per_call: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(per_call) < 5:
        started = time.perf_counter()
        for _ in range(batch):
            fn()
        per_call.append((time.perf_counter() - started) / batch * 1e6)
    return min(per_call), statistics.median(per_call)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per case (default 2)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the figure claims

    assert validate_booking(FULL_VALID) == {}, validate_booking(FULL_VALID)
    assert len(validate_booking(INVALID)) >= 6

    plain = cerberus.Validator  # no custom rules: the cost of Cerberus' per-call schema handling
    plain_schema = {name: {"type": "string", "required": rules["required"]} for name, rules in SCHEMA.items()}
    cases = [
        ("validate_booking, full valid booking", lambda: validate_booking(FULL_VALID)),
        ("validate_booking, invalid booking (8 fields)", lambda: validate_booking(INVALID)),
        ("for comparison: Validator(schema).validate()", lambda: plain(plain_schema).validate(FULL_VALID)),
    ]
    print(f"$ python {' '.join(sys.argv)}")
    print(f"Python {platform.python_version()}, Cerberus {cerberus.__version__}, {platform.machine()}, one core")
    print(f"{'case':<48} {'validations/s':>14} {'µs each':>8} {'median µs':>10}")
    for name, fn in cases:
        best, median = measure(fn, args.seconds)
        print(f"{name:<48} {1e6 / best:>14,.0f} {best:>8.0f} {median:>10.0f}")

if __name__ == "__main__":
    main()
