"""The chat grammar: what a typed line asks Hesabu to do, as a typed command value.

Telegram and WhatsApp alike: the `/` is optional, the command word is case-insensitive and
`/cmd@botname` is accepted. Pure and clock-free: dates and months are kept as typed (or as numbers)
and resolved by the caller with `today` (see `Summary.period_range`, `Export.period_range`,
`bot.ledger.chat_input.read_date`). Parsing never raises; a bad line is a `GrammarError` value.

A line without `/` is only a command when it parses: "business is slow today" is `Chat`, not an
error about `/business`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from bot.assistant.catalogue import N_
from bot.ledger.chat_input import MONTHS, InputError, plain_number, read_amount
from bot.ledger.phones import normalise_phone

InvoiceFilter = Literal["open", "overdue", "all"]
SummaryPeriod = Literal["today", "yesterday", "week", "month", "day"]
InvoicePart = Literal["customer", "amount", "due"]
Role = Literal["owner", "staff"]


@dataclass(frozen=True, slots=True)
class Start:
    code: str | None  # None: `/start` alone (Telegram's Start button without a deep link)


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class CreateInvoice:
    """`/invoice CUSTOMER AMOUNT [DESCRIPTION…] [due DATE]`, possibly incomplete: `missing` names what to ask."""

    customer: str | None  # as typed; a phone typed with spaces is joined (`0712 345 678` -> `0712345678`)
    customer_phone: str | None  # canonical 2547… when the customer was typed as a phone number
    amount: Decimal | None
    description: str
    due: str | None  # the date as typed; resolve with read_date(due, today)
    missing: tuple[InvoicePart, ...]


@dataclass(frozen=True, slots=True)
class ListInvoices:
    which: InvoiceFilter = "open"


@dataclass(frozen=True, slots=True)
class Unmatched:
    pass


@dataclass(frozen=True, slots=True)
class Match:
    trans_id: str  # upper-cased M-Pesa receipt
    invoices: tuple[str, ...]  # references as typed; compare with bot.ledger.references.reference_key


@dataclass(frozen=True, slots=True)
class Undo:
    pass


@dataclass(frozen=True, slots=True)
class Summary:
    period: SummaryPeriod = "today"
    day: date | None = None  # set when period == "day"

    def period_range(self, today: date) -> tuple[date, date]:
        """Half-open [start, end) in business-local dates. `week` is Monday to today, `month` the 1st to today."""
        end = today + timedelta(days=1)
        if self.period == "day" and self.day is not None:
            return self.day, self.day + timedelta(days=1)
        if self.period == "yesterday":
            return today - timedelta(days=1), today
        if self.period == "week":
            return today - timedelta(days=today.weekday()), end
        if self.period == "month":
            return today.replace(day=1), end
        return today, end


@dataclass(frozen=True, slots=True)
class CustomerLookup:
    query: str  # name or phone as typed
    phone: str | None  # canonical 2547… when the query is a phone number


@dataclass(frozen=True, slots=True)
class Export:
    """`/export [month]`: nothing is this month; `last` is last month; a month name without a year is the
    latest such month not in the future (`nov` typed in February is last November)."""

    month: int | None = None
    year: int | None = None
    last: bool = False
    layout: str | None = None  # quickbooks | xero: also the bank-statement CSV those books import

    def period_range(self, today: date) -> tuple[date, date]:
        """Half-open [first of the month, first of the next month)."""
        year, month = today.year, today.month
        if self.last:
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        elif self.month is not None:
            month = self.month
            year = self.year if self.year is not None else (year if self.month <= today.month else year - 1)
        start = date(year, month, 1)
        return start, (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1))


@dataclass(frozen=True, slots=True)
class Settings:
    key: str | None = None  # lower-case; None shows all settings
    value: str | None = None  # the rest of the line; None shows that one setting


@dataclass(frozen=True, slots=True)
class ChooseBusiness:
    number: int | None = None  # 1-based position in the list of linked businesses; None lists them


@dataclass(frozen=True, slots=True)
class Chat:
    """Not a command: the assistant may answer with help."""

    text: str


@dataclass(frozen=True, slots=True)
class GrammarError:
    """A command that could not be read: say `reason` and show `example`."""

    command: str
    reason: str
    example: str


Command = (
    Start | Help | CreateInvoice | ListInvoices | Unmatched | Match | Undo | Summary | CustomerLookup | Export
    | Settings | ChooseBusiness | Chat
)

EXAMPLES: Mapping[str, str] = {
    "start": "/start 123456",
    "help": "/help",
    "invoice": "/invoice Mary Wanjiku 2500 cake due friday",
    "invoices": "/invoices overdue",
    "unmatched": "/unmatched",
    "match": "/match QKL5ABCD12 INV-0042",
    "undo": "/undo",
    "summary": "/summary yesterday",
    "customer": "/customer Mary Wanjiku",
    "export": "/export nov",
    "settings": "/settings",
    "business": "/business 2",
}

HELP_TEXT: Mapping[Role, tuple[str, ...]] = {
    "owner": (
        N_("/invoice NAME AMOUNT [what] [due DATE] - new invoice"),
        N_("/invoices [open|overdue|all] - list invoices"),
        N_("/unmatched - payments not yet matched"),
        N_("/match RECEIPT INVOICE - match a payment"),
        N_("/undo - undo the last match"),
        N_("/summary [today|yesterday|week|month|DATE]"),
        N_("/customer NAME or PHONE - a customer's account"),
        N_("/export [month] - payments as a file"),
        N_("/settings - your settings"),
        N_("/business [N] - switch business"),
        N_("/record NAME AMOUNT - a payment received in cash"),
        N_("/language en|sw - English or Kiswahili"),
        N_("/help - this list"),
        N_("Or just write, e.g. Nani hajalipa? or Mary amelipa 2000 cash"),
    ),
    "staff": (
        N_("/invoice NAME AMOUNT [what] [due DATE] - new invoice"),
        N_("/invoices [open|overdue|all] - list invoices"),
        N_("/unmatched - payments not yet matched"),
        N_("/customer NAME or PHONE - a customer's account"),
        N_("/summary [today|yesterday] - today's takings"),
        N_("/language en|sw - English or Kiswahili"),
        N_("/help - this list"),
        N_("Or just write, e.g. Nani hajalipa? or invoice Mary 2500"),
    ),
}

# dates a book can hold: M-Pesa began in 2007; the ends of the calendar (0001, 9999) overflow date arithmetic
FIRST_YEAR, LAST_YEAR = 2000, 2199
MAX_LINE_CHARS = 2000
MAX_PHONE_PARTS = 10  # `0 7 1 2 3 4 5 6 7 8`: the most words a phone is typed in
_COMMAND_WORD = re.compile(r"^/?([A-Za-z]+)(?:@\w+)?$")
_TRANS_ID = re.compile(r"^[A-Z0-9]{8,12}$")
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_YEAR_MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")
_PHONEISH = re.compile(r"^\+?[\d()\-]+$")
_NUMBER_SHAPED = re.compile(r"^(?:kshs?|kes|shs?|sh)?\.?\s*-?([\d][\d,.]*)[km]?(?:/=|/-)?$")
_FILTERS: Mapping[str, InvoiceFilter] = {"open": "open", "overdue": "overdue", "all": "all"}
_PERIODS: Mapping[str, SummaryPeriod] = {"today": "today", "yesterday": "yesterday", "week": "week", "month": "month"}
_CURRENCY_WORDS = frozenset({"kes", "ksh", "kshs", "sh", "shs", "sh.", "ksh."})


def parse_command(text: str) -> Command | GrammarError:
    """Read one typed line. Unknown `/words` are errors; unknown plain words are `Chat`. Linear in the line,
    which is read up to MAX_LINE_CHARS: a longer one is refused unread."""
    if len(text) > MAX_LINE_CHARS:
        return GrammarError("", f"that is more than {MAX_LINE_CHARS:,} characters; send one command at a time",
                            "/help")
    stripped = text.strip()
    head, _, rest = stripped.partition(" ")
    word = _COMMAND_WORD.match(head)
    slash = stripped.startswith("/")
    parser = _PARSERS.get(word.group(1).lower()) if word else None
    if parser is None:
        if slash and word:
            return GrammarError(word.group(1).lower(), f"I don't know /{word.group(1)}", "/help")
        return Chat(stripped)
    result = parser(rest.split())
    if isinstance(result, GrammarError) and not slash:
        return Chat(stripped)
    return result


def _start(args: list[str]) -> Command | GrammarError:
    if len(args) > 1:
        return _error("start", "send the code on its own", "start")
    return Start(args[0] if args else None)


def _no_args(command: Command, name: str) -> Callable[[list[str]], Command | GrammarError]:
    def parse(args: list[str]) -> Command | GrammarError:
        return _error(name, f"/{name} takes nothing after it", name) if args else command

    return parse


def _invoices(args: list[str]) -> Command | GrammarError:
    if not args:
        return ListInvoices()
    which = _FILTERS.get(args[0].lower())
    if len(args) > 1 or which is None:
        return _error("invoices", "choose open, overdue or all", "invoices")
    return ListInvoices(which)


def _match(args: list[str]) -> Command | GrammarError:
    if not args:
        return _error("match", "give the M-Pesa receipt and the invoice", "match")
    trans_id = args[0].upper()
    if not _TRANS_ID.match(trans_id):
        return _error("match", f"{args[0]} is not an M-Pesa receipt number", "match")
    invoices = tuple(ref for arg in args[1:] for ref in arg.split(",") if ref)
    if not invoices:
        return _error("match", "which invoice did it pay?", "match")
    return Match(trans_id, invoices)


def _summary(args: list[str]) -> Command | GrammarError:
    if not args:
        return Summary()
    word = args[0].lower()
    if len(args) == 1 and word in _PERIODS:
        return Summary(_PERIODS[word])
    if len(args) == 1 and _ISO_DAY.match(word):
        try:
            day = date.fromisoformat(word)
        except ValueError:
            return _error("summary", f"there is no date {word}", "summary")
        if not FIRST_YEAR <= day.year <= LAST_YEAR:  # the chart reaches back 14 days, the period a day ahead
            return _error("summary", f"there is no date {word} in the books", "summary")
        return Summary("day", day)
    return _error("summary", "choose today, yesterday, week, month or a date like 2026-12-01", "summary")


def _customer(args: list[str]) -> Command | GrammarError:
    if not args:
        return _error("customer", "give a name or a phone number", "customer")
    query = " ".join(args)
    return CustomerLookup(query, normalise_phone(query))


_LAYOUTS: Mapping[str, str] = {"quickbooks": "quickbooks", "qbo": "quickbooks", "xero": "xero"}


def _export(args: list[str]) -> Command | GrammarError:
    """`/export [month] [quickbooks|xero]`."""
    if args and args[-1].lower() in _LAYOUTS:
        found = _export_month(args[:-1])
        return replace(found, layout=_LAYOUTS[args[-1].lower()]) if isinstance(found, Export) else found
    return _export_month(args)


def _export_month(args: list[str]) -> Command | GrammarError:
    if not args:
        return Export()
    word = args[0].lower()
    if len(args) == 1 and word == "last":
        return Export(last=True)
    if len(args) == 1 and word in ("this", "now"):
        return Export()
    if len(args) == 1 and word in MONTHS:
        return Export(month=MONTHS[word])
    year_month = _YEAR_MONTH.match(word) if len(args) == 1 else None
    if year_month and 1 <= int(year_month.group(2)) <= 12 and FIRST_YEAR <= int(year_month.group(1)) <= LAST_YEAR:
        return Export(month=int(year_month.group(2)), year=int(year_month.group(1)))
    return _error("export", "give a month like nov, november, 2026-11 or last", "export")


def _settings(args: list[str]) -> Command | GrammarError:
    if not args:
        return Settings()
    return Settings(args[0].lower(), " ".join(args[1:]) or None)


def _business(args: list[str]) -> Command | GrammarError:
    if not args:
        return ChooseBusiness()
    number = plain_number(args[0]) if len(args) == 1 else None
    if number is not None and number >= 1:
        return ChooseBusiness(number)
    return _error("business", "give the number of the business from the list", "business")


# --- /invoice --------------------------------------------------------------------------------------


def _invoice(args: list[str]) -> Command | GrammarError:
    tokens, due, due_missing = _split_due(_join_phones(args))
    quoted = _quoted_customer(tokens)
    if quoted is not None:
        customer, after = quoted
        found = _find_amount(after, start=0)
        tokens = [customer, *after]
        index = found + 1 if isinstance(found, int) else found
    else:
        index = _find_amount(tokens, start=1)
        if index is None and tokens and isinstance(_amount_of(tokens, 0), Decimal):
            index = 0  # `/invoice 2500 cake`: an amount and no customer; ask who it is for
    if isinstance(index, GrammarError):
        return index
    return _invoice_value(tokens, index, due, due_missing)


def _invoice_value(tokens: list[str], index: int | None, due: str | None, due_missing: bool) -> CreateInvoice:
    if index is None:
        customer = " ".join(tokens) or None
        amount, description = None, ""
    else:
        customer = " ".join(tokens[:index]) or None
        value = _amount_of(tokens, index)
        amount = value if isinstance(value, Decimal) else None
        skip = 2 if tokens[index].lower() in _CURRENCY_WORDS else 1
        description = " ".join(tokens[index + skip :])
    missing: list[InvoicePart] = []
    if customer is None:
        missing.append("customer")
    if amount is None:
        missing.append("amount")
    if due_missing:
        missing.append("due")
    phone = normalise_phone(customer) if customer else None
    return CreateInvoice(customer, phone, amount, description, due, tuple(missing))


def _join_phones(args: list[str]) -> list[str]:
    """`0712 345 678` typed with spaces is one phone, not a customer `0712` owing 345."""
    out: list[str] = []
    i = 0
    while i < len(args):
        run = 0  # a phone is at most MAX_PHONE_PARTS words: the parse stays linear however many numbers follow
        while run < MAX_PHONE_PARTS and i + run < len(args) and _PHONEISH.match(args[i + run]):
            run += 1
        joined = next((n for n in range(run, 1, -1) if normalise_phone("".join(args[i : i + n]))), None)
        if joined:
            out.append("".join(args[i : i + joined]))
            i += joined
        else:
            out.append(args[i])
            i += 1
    return out


def _split_due(tokens: list[str]) -> tuple[list[str], str | None, bool]:
    """The last `due` word starts the due date; returns (tokens before it, date text, `due` with nothing after)."""
    positions = [i for i, token in enumerate(tokens) if token.lower() == "due"]
    if not positions or positions[-1] == 0:
        return tokens, None, False
    at = positions[-1]
    due = " ".join(tokens[at + 1 :]) or None
    return tokens[:at], due, due is None


def _quoted_customer(tokens: list[str]) -> tuple[str, list[str]] | None:
    """`"Shop 24" 2500`: quotes let a customer's name hold a number."""
    if not tokens or tokens[0][:1] not in ('"', "\u201c"):
        return None
    for end, token in enumerate(tokens):
        if token[-1:] in ('"', "\u201d") and (end > 0 or len(token) > 1):
            name = " ".join(tokens[: end + 1])[1:-1].strip()
            return (name, tokens[end + 1 :]) if name else None
    return None


def _find_amount(tokens: list[str], start: int) -> int | None | GrammarError:
    """The first token from `start` that reads as an amount (a phone never does). A token that is
    clearly meant as money but refused (`0`, `-500`, `2.555`) is an error, not part of a name."""
    for index in range(start, len(tokens)):
        value = _amount_of(tokens, index)
        if isinstance(value, Decimal):
            return index
        if _looks_like_money(tokens[index]) and value is not None:
            return GrammarError("invoice", f"{value.text}: {value.reason}", EXAMPLES["invoice"])
    return None


def _amount_of(tokens: list[str], index: int) -> Decimal | InputError | None:
    token = tokens[index]
    if normalise_phone(token):
        return None
    if token.lower() in _CURRENCY_WORDS and index + 1 < len(tokens):
        return read_amount(f"{token} {tokens[index + 1]}")
    return read_amount(token)


def _looks_like_money(token: str) -> bool:
    """Number-shaped (`0`, `-500`, `2.555`, `ksh-5`): meant as money. `0712` is part of a phone, not money."""
    shaped = _NUMBER_SHAPED.match(token.lower())
    return shaped is not None and not re.match(r"^0\d", shaped.group(1))


def _error(command: str, reason: str, example_key: str) -> GrammarError:
    return GrammarError(command, reason, EXAMPLES[example_key])


_PARSERS: Mapping[str, Callable[[list[str]], Command | GrammarError]] = {
    "start": _start,
    "help": _no_args(Help(), "help"),
    "invoice": _invoice,
    "invoices": _invoices,
    "unmatched": _no_args(Unmatched(), "unmatched"),
    "match": _match,
    "undo": _no_args(Undo(), "undo"),
    "summary": _summary,
    "customer": _customer,
    "export": _export,
    "settings": _settings,
    "business": _business,
}
