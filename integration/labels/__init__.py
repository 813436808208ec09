"""Shipping labels: A6 PDF pages with the cnote as a Code 128 barcode, from the fields JNE was sent.

``render_labels(labels) -> bytes`` draws; ``labels_for_keys`` / ``select_labels`` read the ledger;
``label_from_fields`` builds one label from a booking's JNE fields.
"""

from integration.labels.collect import labels_for_keys, select_labels
from integration.labels.model import Label, label_from_fields, rupiah
from integration.labels.render import render_labels

__all__ = ["Label", "label_from_fields", "labels_for_keys", "render_labels", "rupiah", "select_labels"]
