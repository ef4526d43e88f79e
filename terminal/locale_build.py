"""Extract, update and compile the UI's gettext catalogs: ``python -m terminal.locale_build``.

Reads every ``_()``, ``N_()`` and ``ngettext()`` string under ``terminal/``, merges them into
``terminal/locale/<lang>/LC_MESSAGES/till.po`` (keeping existing translations) and compiles each
to ``till.mo``, which is all the till reads at start-up. ``--check`` exits 1 when a catalog is
stale (used by the tests).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from terminal.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
ROOT = Path(__file__).resolve().parent


def template() -> Catalog:
    """Every translatable string of the terminal."""
    catalog = Catalog(project="till", domain=DOMAIN)
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], context=context)
    return catalog


def po_path(language: str) -> Path:
    """Where ``language``'s source catalog lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def updated(language: str, pot: Catalog) -> Catalog:
    """``language``'s catalog merged with the current strings."""
    path = po_path(language)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
    else:
        catalog = Catalog(locale=language, domain=DOMAIN, project="till")
    catalog.update(pot, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    return catalog


def render_po(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, omit_header=False, sort_output=True, no_location=True)
    return out.getvalue()


def render_mo(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def main(argv: list[str]) -> int:
    check = "--check" in argv
    pot = template()
    stale = []
    for language in LANGUAGES:
        catalog = updated(language, pot)
        po, mo = po_path(language), po_path(language).with_suffix(".mo")
        missing = [m.id for m in catalog if m.id and not m.string and language != "en"]
        if check:
            if not po.exists() or set(m.id for m in catalog if m.id) != set(
                m.id for m in read_po(po.open("rb")) if m.id
            ):
                stale.append(f"{po}: strings changed; run python -m terminal.locale_build")
            if not mo.exists() or mo.read_bytes() != render_mo(read_po(po.open("rb"))):
                stale.append(f"{mo}: not compiled from {po.name}")
            continue
        po.parent.mkdir(parents=True, exist_ok=True)
        po.write_bytes(render_po(catalog))
        mo.write_bytes(render_mo(catalog))
        print(f"{language}: {len(catalog)} messages, {len(missing)} untranslated")
    for line in stale:
        print(line, file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
