"""Render a receipt to ESC/POS bytes for one printer profile: pure, no device touched.

Built on python-escpos's ``Dummy`` with the real profile from till's capabilities file
(``drivers.escpos_env``). Every receipt starts with ``ESC @`` (INIT), the font and the code page;
the code page is sent again after any font switch (python-escpos 3.1 forgets it). A line with a
letter that none of the profile's code pages has (Kazakh on a CP866-only ZJ-5870) is printed as
a raster image of that line instead of as ``?``.

Raises :class:`~drivers.errors.DeviceConfigError` for an unknown profile, a column count the
profile cannot print, or a code page the profile does not have; :class:`~drivers.errors.RenderError`
when a QR or barcode does not fit the paper.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from drivers import line_image
from drivers.errors import DeviceConfigError, RenderError
from drivers.escpos_env import escpos_capabilities, escpos_printer_module, profile_data
from drivers.receipt_layout import BarcodeBlock, Block, Line, QrBlock, layout_receipt
from loyalty.receipt import Receipt, ReceiptLanguage

log = logging.getLogger(__name__)

# Code pages to start a receipt with, best first, when the admin configured none.
PREFERRED_CODEPAGES: dict[str, tuple[str, ...]] = {
    "ru": ("CP866", "CP1251", "CP1125", "RK1048"),
    "uk": ("CP1125", "CP1251", "CP866"),
    "kk": ("RK1048", "CP1251", "CP866"),
    "en": ("CP437", "CP1252", "CP850"),
}

QrMode = Literal["auto", "native", "image", "off"]
"""auto: native ``GS ( k`` where the profile supports it, else an image; or force one; or off."""

_IMAGE_IMPLS = ("bitImageRaster", "bitImageColumn", "graphics")
_encoder_caches: dict[str, dict[str, Any]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class RenderedReceipt:
    """The bytes of one receipt and how they were made.

    ``image_lines`` are the text lines printed as images because the profile has no code page
    for one of their letters; ``native_qr`` tells whether the QR went as ``GS ( k``.
    """

    data: bytes
    codepage: str
    image_lines: tuple[str, ...]
    native_qr: bool | None


def _profile(profile: str) -> dict[str, Any]:
    try:
        return profile_data(profile)
    except KeyError:
        raise DeviceConfigError(f"Printer profile {profile!r} is not known.") from None


@cache
def profile_codepages(profile: str) -> dict[str, int]:
    """Code pages of ``profile`` that python-escpos can encode, name → ``ESC t`` slot."""
    encodings = escpos_capabilities().CAPABILITIES["encodings"]
    out: dict[str, int] = {}
    for slot, name in _profile(profile)["codePages"].items():
        info = encodings.get(name, {})
        if ("python_encode" in info or "data" in info) and name not in out:
            out[name] = int(slot)
    return out


@cache
def printable_characters(profile: str) -> frozenset[str]:
    """Every non-ASCII character some code page of ``profile`` can print."""
    encodings = escpos_capabilities().CAPABILITIES["encodings"]
    chars: set[str] = set()
    for name in profile_codepages(profile):
        info = encodings[name]
        if "data" in info:
            chars.update("".join(info["data"]))
            continue
        for byte in range(128, 256):
            try:
                chars.add(bytes([byte]).decode(info["python_encode"]))
            except UnicodeDecodeError:
                continue
    chars.discard(" ")
    return frozenset(chars)


def choose_codepage(profile: str, language: ReceiptLanguage, configured: str | None) -> str:
    """The code page to start with: ``configured`` if given, else the language's best.

    Raises ``DeviceConfigError`` when ``configured`` is not a code page of ``profile``.
    """
    available = profile_codepages(profile)
    if configured:
        name = configured.upper().replace("WPC", "CP")
        if name not in available:
            raise DeviceConfigError(
                f"Code page {configured!r} is not available on printer profile {profile!r}; "
                f"choose one of {', '.join(sorted(available))}."
            )
        return name
    for name in PREFERRED_CODEPAGES[language]:
        if name in available:
            return name
    return min(available, key=available.__getitem__)


def select_font(profile: str, columns: int) -> str:
    """The font ('a' or 'b') that prints ``columns`` characters; raises ``DeviceConfigError``."""
    fonts = _profile(profile)["fonts"]
    widths = {key: int(value["columns"]) for key, value in fonts.items()}
    if columns <= widths.get("0", 0):
        return "a"
    if columns <= widths.get("1", 0):
        return "b"
    raise DeviceConfigError(
        f"Printer profile {profile!r} prints at most {max(widths.values())} columns, not {columns}."
    )


def _image_impl(profile: str) -> str:
    features = _profile(profile)["features"]
    for impl in _IMAGE_IMPLS:
        if features.get(impl):
            return impl
    raise RenderError(f"Printer profile {profile!r} cannot print images.")


def _dummy(profile: str) -> Any:
    printer_module = escpos_printer_module()
    from escpos.magicencode import Encoder  # lazy: escpos is imported by the line above

    encoder = Encoder(printer_module.Dummy(profile=profile).profile.get_code_pages())
    with _cache_lock:
        # Building a code page's character map is the slow part of python-escpos's encoder;
        # share the maps (pure data) between receipts of one profile.
        encoder.available_characters = _encoder_caches.setdefault(profile, {})
    return printer_module.Dummy(profile=profile, magic_encode_args={"encoder": encoder})


class _Renderer:
    def __init__(
        self,
        profile: str,
        columns: int,
        codepage: str,
        language: ReceiptLanguage,
        qr_mode: QrMode = "auto",
    ):
        self.profile = profile
        self.columns = columns
        self.printer = _dummy(profile)
        self.printable = printable_characters(profile)
        self.image_lines: list[str] = []
        self.native_qr: bool | None = None
        self.font = select_font(profile, columns)
        self.codepage = codepage
        self.language = language
        self.qr_mode = qr_mode

    def start(self) -> None:
        p = self.printer
        p.hw("INIT")
        p.magic.encoding = None
        if self.font != "a":
            p.set(font=self.font)  # ESC M before ESC t: the font switch would reset the page
        p.charcode(self.codepage)
        # charcode() pins the page; let magic switch away for letters the page lacks while
        # preferring the chosen one.
        p.magic.disabled = False
        p.magic.encoder.used_encodings = {self.codepage}

    def line(self, line: Line) -> None:
        p = self.printer
        if any(ord(ch) > 127 and ch not in self.printable for ch in line.text):
            self.image_lines.append(line.text)
            p.set(align="left")
            image = line_image.render_line(
                line.text, self.profile, self.columns, center=line.align == "center"
            )
            p.image(image, impl=_image_impl(self.profile))
            return
        if line.style == "title":
            p.set(align="center", bold=True, double_height=True)
        else:
            p.set(align=line.align, bold=line.style == "bold")
        p.text(line.text + "\n")
        if line.style == "title":
            p.set(normal_textsize=True, bold=False)

    def qr(self, block: QrBlock) -> None:
        p = self.printer
        data = _profile(self.profile)
        if self.qr_mode == "off":
            return
        supported = bool(data["features"].get("qrCode"))
        native = self.qr_mode == "native" or (self.qr_mode == "auto" and supported)
        self.native_qr = native
        try:
            if native:
                p.set(align="center")
                p.qr(block.content, ec=1, size=6, native=True)  # ec=1: QR_ECLEVEL_M
                p.text("\n")
                p.set(align="left")
            else:
                p.set(align="left")
                pixels = line_image.paper_pixels(self.profile)
                p.qr(
                    block.content,
                    ec=1,
                    size=4 if pixels <= 384 else 6,
                    native=False,
                    image_arguments={"impl": _image_impl(self.profile), "center": True},
                )
        except RenderError:
            raise
        except Exception as exc:  # python-escpos raises its own ImageWidthError, ValueError
            raise RenderError("The QR code does not fit this paper width.") from exc

    def barcode(self, block: BarcodeBlock) -> None:
        p = self.printer
        if not block.data.isascii() or not block.data.isprintable():
            log.warning("check number is not printable ASCII; barcode left out")
            return
        features = _profile(self.profile)["features"]
        p.set(align="center")
        if features.get("barcodeB"):
            # Written out rather than barcode(): that method prints to stdout.
            payload = b"{B" + block.data.encode("ascii")
            p._raw(b"\x1dh\x50\x1dw\x02\x1dH\x02\x1dk\x49" + bytes([len(payload)]) + payload)
            p.text("\n")
        else:
            self._software_barcode(block.data)
        p.set(align="left")

    def _software_barcode(self, data: str) -> None:
        p = self.printer
        try:
            line_image.paper_pixels(self.profile)
        except RenderError:
            # Without a paper width python-escpos would print a warning to stdout.
            log.warning("profile %s gives no paper width; barcode left out", self.profile)
            return
        dots = 25.4 / int(_profile(self.profile)["media"]["dpi"])
        for module_dots in (2, 1):
            try:
                # _sw_barcode is private but stable in 3.1 (the only release since 2023), and
                # the public barcode() prints "Using ... renderer" to stdout.
                p._sw_barcode(
                    "code128",
                    data,
                    impl=_image_impl(self.profile),
                    module_height=48 * dots,
                    module_width=module_dots * dots,
                    text_distance=3,
                    font_size=9,
                    center=True,
                )
                return
            except Exception:  # ImageWidthError: too wide at this module width
                continue
        log.warning("check number barcode is too wide for this paper; left out")

    def finish(self) -> bytes:
        self.printer.cut()
        return bytes(self.printer.output)


def render_blocks(
    blocks: tuple[Block, ...],
    language: ReceiptLanguage,
    profile: str,
    columns: int,
    codepage: str | None = None,
    *,
    qr: QrMode = "auto",
) -> RenderedReceipt:
    """Bytes for already laid-out ``blocks`` (see :func:`render_receipt`)."""
    chosen = choose_codepage(profile, language, codepage)
    renderer = _Renderer(profile, columns, chosen, language, qr)
    renderer.start()
    for block in blocks:
        if isinstance(block, Line):
            renderer.line(block)
        elif isinstance(block, QrBlock):
            renderer.qr(block)
        else:
            renderer.barcode(block)
    return RenderedReceipt(
        renderer.finish(), renderer.codepage, tuple(renderer.image_lines), renderer.native_qr
    )


def render_receipt_detailed(
    receipt: Receipt,
    profile: str,
    columns: int,
    codepage: str | None = None,
    *,
    qr: QrMode = "auto",
) -> RenderedReceipt:
    """Like :func:`render_receipt`, with what was printed as images and which code page."""
    blocks = layout_receipt(receipt, columns)
    return render_blocks(blocks, receipt.language, profile, columns, codepage, qr=qr)


def render_receipt(
    receipt: Receipt,
    profile: str,
    columns: int,
    codepage: str | None = None,
    *,
    qr: QrMode = "auto",
) -> bytes:
    """ESC/POS bytes of ``receipt`` for printer ``profile`` at ``columns`` characters a line.

    ``codepage`` (e.g. "CP866", "CP1251") is where the receipt starts; letters it lacks switch
    to another page of the profile, or become an image when no page has them. ``qr`` picks
    how the QR is printed (see :data:`QrMode`).
    Raises ``DeviceConfigError`` or ``RenderError`` (see the module docstring).
    """
    return render_receipt_detailed(receipt, profile, columns, codepage, qr=qr).data
