"""Shipping labels: the time to draw one PDF of 100 A6 labels (aim: under 2 s).

Run: python benchmarks/bench_labels.py [--labels N] [--rounds R]

Draws N labels (default 100) of the COD example order, each with its own cnote and ORDER_ID, as
``jne-integration labels`` and the dashboard do (reportlab, Code 128, the embedded DejaVu font),
R times (default 5), and prints the first round (which registers the font) and the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402 - after the path tweak so the script runs from anywhere

from integration.labels import label_from_fields, render_labels  # noqa: E402

AIM_S = 2.0
FIELDS = {
    "ORDER_ID": "TC1042", "SERVICE_CODE": "REG", "DESTINATION_CODE": "CGK10101", "ORIGIN_CODE": "CGK10000",
    "RECEIVER_NAME": "SITI RAHMAWATI", "RECEIVER_ADDR1": "JL. KEMANG RAYA NO. 12",
    "RECEIVER_ADDR2": "RT 05/RW 02, BANGKA, MAMPANG PRAPATAN", "RECEIVER_CITY": "JAKARTA SELATAN",
    "RECEIVER_ZIP": "12730", "RECEIVER_REGION": "DKI JAKARTA", "RECEIVER_PHONE": "+6281234567890",
    "SHIPPER_NAME": "TOKO CONTOH", "SHIPPER_ADDR1": "JL. KEMANG RAYA NO 5", "SHIPPER_ADDR2": "MAMPANG PRAPATAN",
    "SHIPPER_CITY": "JAKARTA SELATAN", "SHIPPER_PHONE": "+6281234567890", "WEIGHT": "2", "QTY": "3",
    "GOODS_DESC": "KAOS POLOS HITAM XL", "GOODS_AMOUNT": "150000", "COD_FLAG": "YES", "COD_AMOUNT": "185000",
    "SPECIAL_INS": "TITIP DI POS SATPAM",
}


def main() -> None:
    """Draw, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    labels = [label_from_fields(f"0263783543{i:06d}", {**FIELDS, "ORDER_ID": f"TC{1042 + i}"},
                                store="toko-contoh", order_number=f"#{1042 + i}") for i in range(args.labels)]
    times, size = [], 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        size = len(render_labels(labels))
        times.append(time.perf_counter() - started)
    print(common.command_line())
    print(common.machine())
    median = statistics.median(times)
    print(common.table(["labels", "first round s", "median s", "min s", "PDF kB", f"aim < {AIM_S:g} s"],
                       [[args.labels, round(times[0], 3), round(median, 3), round(min(times), 3),
                         round(size / 1024), "yes" if median < AIM_S else "NO"]]))


if __name__ == "__main__":
    main()
