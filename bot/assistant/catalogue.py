"""The message catalogue: every sentence Hesabu sends, in English and Swahili, through gettext.

The English text is the msgid; `locale/sw/LC_MESSAGES/hesabu.po` holds the Swahili, edited as a normal gettext
catalogue (Babel's `pybabel extract/update` work on it with the keywords below). It is compiled in memory at
first use with Babel, so the package never ships a stale `.mo`. Plural forms follow the catalogue's
Plural-Forms header. Amounts and dates are formatted the Kenyan way (`KES 2,500.00`, `Ijumaa 12 Des`).

Mark a sentence with `tr(lang, "…", name=value)` or `ntr(lang, "one …", "{n} …", n)`; the placeholders are
`str.format` fields, so a translation may move them around but never builds a sentence from fragments.
"""

from __future__ import annotations

import gettext
from datetime import date
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Literal

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

Lang = Literal["en", "sw"]
LANGS: tuple[Lang, ...] = ("en", "sw")
DOMAIN = "hesabu"
LOCALE_DIR = Path(__file__).parent / "locale"
# for `pybabel extract -k tr:2 -k ntr:2,3` and the catalogue test
KEYWORDS = {"tr": (2,), "ntr": (2, 3), "N_": None}
_BABEL_LOCALE = {"en": "en_KE", "sw": "sw_KE"}


def lang_of(value: object) -> Lang:
    return "sw" if value == "sw" else "en"


@cache
def translations(lang: Lang) -> gettext.NullTranslations:
    """The compiled catalogue of `lang`; English is the msgids themselves."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def N_(msgid: str) -> str:  # noqa: N802 - gettext's own name for "translated later"
    """Marks a sentence kept in a table for the catalogue; `tr` translates it when it is sent."""
    return msgid


def tr(lang: Lang, msgid: str, **fields: object) -> str:
    text = translations(lang).gettext(msgid)
    return text.format(**fields) if fields else text


def ntr(lang: Lang, singular: str, plural: str, n: int, **fields: object) -> str:
    return translations(lang).ngettext(singular, plural, n).format(n=n, **fields)


def kes(amount: Decimal) -> str:
    """`KES 2,500.00` in both languages: the way receipts and M-Pesa messages write it."""
    return f"KES {amount:,.2f}"


def day(value: date, lang: Lang, today: date | None = None) -> str:
    """`Fri 12 Dec` / `Ijumaa 12 Des`; the year is added when it is not this year."""
    pattern = "EEE d MMM" if today is None or today.year == value.year else "EEE d MMM y"
    return format_date(value, pattern, locale=_BABEL_LOCALE[lang])


def month(value: date, lang: Lang) -> str:
    """`December 2026` / `Desemba 2026`."""
    return format_date(value, "MMMM y", locale=_BABEL_LOCALE[lang])
