"""Draw labels: one A6 page per booking, the cnote as a Code 128 barcode and as text.

reportlab (BSD, maintained since 2000) writes the PDF and draws the barcode itself, so no image
library or external tool is involved and 100 labels take well under a second (see
benchmarks/bench_labels.py). Text is drawn with ``drawString`` (no markup is interpreted, so an
order's text cannot change the layout) after :func:`integration.labels.model.clean`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from integration.labels.fonts import LabelFonts, label_fonts
from integration.labels.model import Label

WIDTH, HEIGHT = A6  # 105 x 148 mm, portrait
MARGIN = 5 * mm
INNER = WIDTH - 2 * MARGIN
BAR_HEIGHT = 17 * mm
# The narrowest bar a thermal label printer (203 dpi: 0.125 mm a dot) still prints reliably.
MIN_BAR = 0.25 * mm
MAX_BAR = 0.45 * mm


def render_labels(labels: Iterable[Label], title: str = "JNE shipping labels") -> bytes:
    """One PDF, one A6 page per label, in the order given (an empty list gives a one-page notice)."""
    fonts = label_fonts()
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=A6, pageCompression=1)
    pdf.setTitle(title)
    pdf.setCreator("jne-integration")
    drawn = 0
    for label in labels:
        _page(pdf, fonts, label)
        pdf.showPage()
        drawn += 1
    if not drawn:
        pdf.setFont(fonts.regular, 10)
        pdf.drawString(MARGIN, HEIGHT - 20 * mm, "No booked orders to label.")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _fit(text: str, font: str, size: float, width: float, smallest: float = 6) -> float:
    """The largest size <= ``size`` (down to ``smallest``) at which ``text`` fits ``width``."""
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _ellipsis(text: str, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _wrapped(pdf: Canvas, text: str, font: str, size: float, x: float, y: float, width: float,
             max_lines: int) -> float:
    """Draw ``text`` wrapped to ``width`` in at most ``max_lines`` lines; returns the next baseline."""
    lines = simpleSplit(text, font, size, width) if text else []
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _ellipsis(lines[-1] + " …", font, size, width)
    pdf.setFont(font, size)
    for line in lines:
        pdf.drawString(x, y, _ellipsis(line, font, size, width))
        y -= size * 1.18
    return y


def barcode(cnote: str) -> Code128:
    """The Code 128 symbol of ``cnote``, as wide as the label allows (quiet zones included)."""
    probe = Code128(cnote, barWidth=1, barHeight=BAR_HEIGHT, quiet=False, humanReadable=False)
    modules = probe.width  # with barWidth 1, the width is the number of modules
    bar = max(MIN_BAR, min(MAX_BAR, INNER / (modules + 20)))
    return Code128(cnote, barWidth=bar, barHeight=BAR_HEIGHT, quiet=True, lquiet=10 * bar,
                   rquiet=10 * bar, humanReadable=False)


def _page(pdf: Canvas, fonts: LabelFonts, label: Label) -> None:
    regular, bold = fonts.regular, fonts.bold
    top = HEIGHT - MARGIN
    pdf.setLineWidth(0.8)
    pdf.rect(MARGIN - 2 * mm, MARGIN - 2 * mm, INNER + 4 * mm, HEIGHT - 2 * MARGIN + 4 * mm)

    # Header: carrier and service (what the sorting hub reads first), ORDER_ID.
    pdf.setFont(bold, 20)
    pdf.drawString(MARGIN, top - 7 * mm, "JNE")
    service = label.service or "-"
    size = _fit(service, bold, 16, 30 * mm)
    box_w = max(22 * mm, stringWidth(service, bold, size) + 6 * mm)
    pdf.rect(WIDTH - MARGIN - box_w, top - 9 * mm, box_w, 9 * mm, fill=1)
    pdf.setFillGray(1)
    pdf.setFont(bold, size)
    pdf.drawCentredString(WIDTH - MARGIN - box_w / 2, top - 6.6 * mm, service)
    pdf.setFillGray(0)
    pdf.setFont(regular, 7)
    pdf.drawString(MARGIN + 19 * mm, top - 3.5 * mm, "ORDER_ID")
    pdf.setFont(bold, _fit(label.order_id, bold, 10, INNER - box_w - 21 * mm))
    pdf.drawString(MARGIN + 19 * mm, top - 8 * mm, label.order_id)

    # The airwaybill: barcode, then the number as text for when the scanner fails.
    y = top - 11 * mm - BAR_HEIGHT
    if label.cnote:
        code = barcode(label.cnote)
        code.drawOn(pdf, (WIDTH - code.width) / 2, y)
    pdf.setFont(bold, _fit(label.cnote, bold, 14, INNER))
    pdf.drawCentredString(WIDTH / 2, y - 5 * mm, label.cnote)
    y -= 7.5 * mm
    pdf.line(MARGIN, y, WIDTH - MARGIN, y)

    # Routing and billing facts in three cells.
    cells = (("TUJUAN / DEST", label.destination_code or "-"), ("BERAT / KG", label.weight_kg or "-"),
             ("QTY", label.quantity or "-"))
    cell_w = INNER / 3
    for i, (caption, value) in enumerate(cells):
        x = MARGIN + i * cell_w
        pdf.setFont(regular, 6.5)
        pdf.drawString(x + 1 * mm, y - 3 * mm, caption)
        pdf.setFont(bold, _fit(value, bold, 13, cell_w - 2 * mm))
        pdf.drawString(x + 1 * mm, y - 8.5 * mm, value)
        if i:
            pdf.line(x, y, x, y - 10 * mm)
    y -= 10 * mm
    pdf.line(MARGIN, y, WIDTH - MARGIN, y)

    # Cash on delivery: the amount the courier collects, impossible to miss.
    if label.is_cod:
        pdf.rect(MARGIN, y - 9 * mm, INNER, 8 * mm, fill=1)
        pdf.setFillGray(1)
        text = f"COD {label.cod_amount}"
        pdf.setFont(bold, _fit(text, bold, 15, INNER - 4 * mm))
        pdf.drawCentredString(WIDTH / 2, y - 6.6 * mm, text)
        pdf.setFillGray(0)
    else:
        pdf.setFont(bold, 10)
        pdf.drawCentredString(WIDTH / 2, y - 6 * mm, "NON COD")
    y -= 10 * mm

    # Receiver.
    pdf.setFont(regular, 6.5)
    pdf.drawString(MARGIN, y - 3 * mm, "PENERIMA / TO")
    y -= 7.5 * mm
    pdf.setFont(bold, _fit(label.receiver_name, bold, 11, INNER))
    pdf.drawString(MARGIN, y, _ellipsis(label.receiver_name, bold, 6, INNER))
    y -= 4.5 * mm
    address = ", ".join(label.receiver_address)
    place = " ".join(t for t in (label.receiver_city, label.receiver_zip) if t)
    if label.receiver_region:
        place = f"{place}, {label.receiver_region}" if place else label.receiver_region
    y = _wrapped(pdf, address, regular, 8.5, MARGIN, y, INNER, 4)
    y = _wrapped(pdf, place, bold, 8.5, MARGIN, y, INNER, 1)
    y = _wrapped(pdf, f"Tel {label.receiver_phone}" if label.receiver_phone else "", regular, 8.5,
                 MARGIN, y, INNER, 1)
    y -= 1 * mm
    pdf.line(MARGIN, y, WIDTH - MARGIN, y)

    # Shipper.
    pdf.setFont(regular, 6.5)
    pdf.drawString(MARGIN, y - 3 * mm, "PENGIRIM / FROM")
    y -= 6.5 * mm
    y = _wrapped(pdf, label.shipper_name, bold, 8.5, MARGIN, y, INNER, 1)
    shipper = ", ".join([*label.shipper_address, label.shipper_city] if label.shipper_city
                        else label.shipper_address)
    y = _wrapped(pdf, shipper, regular, 7.5, MARGIN, y, INNER, 2)
    y = _wrapped(pdf, f"Tel {label.shipper_phone}" if label.shipper_phone else "", regular, 7.5,
                 MARGIN, y, INNER, 1)
    y -= 1 * mm
    pdf.line(MARGIN, y, WIDTH - MARGIN, y)

    # Goods and instructions.
    pdf.setFont(regular, 6.5)
    pdf.drawString(MARGIN, y - 3 * mm, "ISI / GOODS")
    y -= 6.5 * mm
    goods = label.goods or "-"
    if label.goods_amount:
        goods = f"{goods} (nilai {label.goods_amount})"
    y = _wrapped(pdf, goods, regular, 7.5, MARGIN, y, INNER, 2)
    if label.special_instructions:
        _wrapped(pdf, f"Catatan: {label.special_instructions}", regular, 7.5, MARGIN, y, INNER, 2)

    # Footer: where it came from, for the packer.
    origin = " ".join(t for t in (label.store, label.order_number, label.origin_code and
                                  f"origin {label.origin_code}") if t)
    pdf.setFont(regular, 6.5)
    pdf.drawString(MARGIN, MARGIN + 0.5 * mm, _ellipsis(origin, regular, 6.5, INNER))
