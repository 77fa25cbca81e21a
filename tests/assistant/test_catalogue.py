"""The message catalogue: every sentence marked in the code has a Swahili translation, with the same
placeholders, and the common replies fit on a phone screen in both languages."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.assistant import catalogue, wording
from bot.assistant.catalogue import KEYWORDS, LOCALE_DIR, ntr, tr

ROOT = Path(__file__).resolve().parents[2]
PHONE_SCREEN = 500  # characters: about what a phone shows without scrolling


def marked() -> dict[str, tuple[str, ...]]:
    """Every msgid marked with tr/ntr/N_ under bot/ and webhooks/, with where it is."""
    found: dict[str, tuple[str, ...]] = {}
    for folder in ("bot", "webhooks"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, (f"{folder}/{filename}:{lineno}",))
    return found


def swahili() -> dict[str, object]:
    with (LOCALE_DIR / "sw" / "LC_MESSAGES" / "hesabu.po").open("rb") as handle:
        catalog = read_po(handle, locale="sw")
    entries: dict[str, object] = {}
    for m in catalog:
        for msgid in ((m.id,) if isinstance(m.id, str) else m.id):
            if msgid:
                entries[msgid] = m.string
    return entries


def test_every_marked_sentence_has_swahili() -> None:
    sw = swahili()
    missing = {msgid: where for msgid, where in marked().items() if not sw.get(msgid)}
    assert not missing, "no Swahili for: " + "; ".join(f"{k!r} ({v[0]})" for k, v in missing.items())
    empty = [k for k, v in sw.items() if not v or (isinstance(v, tuple) and not all(v))]
    assert not empty, empty


def test_translations_keep_the_placeholders() -> None:
    for msgid, text in swahili().items():
        texts = text if isinstance(text, tuple) else (text,)
        for translated in texts:
            assert set(re.findall(r"\{(\w+)\}", str(translated))) <= set(re.findall(r"\{(\w+)\}", msgid)) | {"n"}, \
                msgid


def test_plural_forms_and_kenyan_formats() -> None:
    assert ntr("en", "{month}: {n} payment, {total}", "{month}: {n} payments, {total}", 1, month="May",
               total="KES 1.00") == "May: 1 payment, KES 1.00"
    assert ntr("sw", "{month}: {n} payment, {total}", "{month}: {n} payments, {total}", 3, month="Mei",
               total="KES 3.00").startswith("Mei: malipo 3")
    assert catalogue.kes(Decimal("2500")) == "KES 2,500.00"
    assert catalogue.day(date(2026, 12, 11), "sw") == "Ijumaa 11 Des"
    assert catalogue.day(date(2026, 12, 11), "en") == "Fri 11 Dec"
    assert tr("sw", "Who paid? Send the name, e.g. Mary Wanjiku").startswith("Nani amelipa")


def test_common_replies_fit_a_phone_screen_in_both_languages() -> None:
    for lang in catalogue.LANGS:
        created = wording.invoice_created("INV-0042", "Mary Wanjiku", Decimal("2500"), date(2026, 12, 11), "600984",
                                          lang=lang)
        assert len(created.text) < PHONE_SCREEN
        from bot.assistant.grammar import HELP_TEXT

        assert len(wording.help_reply(HELP_TEXT["owner"], lang=lang).text) < 2 * PHONE_SCREEN


def test_the_chat_page_labels_exist_in_both_languages() -> None:
    from bot.assistant.page_labels import page_labels

    english, swahili_labels = page_labels("en"), page_labels("sw")
    assert english["send"] == "Send" and swahili_labels["send"] == "Tuma"
    assert set(english) == set(swahili_labels) and all(swahili_labels.values())
    page = (ROOT / "webhooks" / "static" / "chat.html").read_text()
    assert all(f'data-label="{key}"' in page for key in ("send", "placeholder", "simulator", "burst"))
