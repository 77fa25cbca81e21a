"""M-PESA statements read into rows: the Org Portal (business) CSV export and the statement PDF's text layer.

Every row is keyed on its receipt (= TransID) and is one of: money in, money out (withdrawals, charges,
payments made), a reversal, or not completed; a row that cannot be read is a `RowProblem` with its line, never a
guess. The readers are generators (a 20,000-row file is never held as rows in memory) and never raise.

Shapes read (tests/payloads/statement_samples.txt):
- Org Portal CSV: `Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,
  Balance,Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.` with optional preamble lines
  (`Organisation Name,...`, `Paybill,556677`) above the header. Columns are found by name.
  UNCONFIRMED and all accepted: dates `20-04-2017 15:50`, `06-10-2026 09:30:15`, `2026-10-02 12:30:00` (day first
  when the year is last); Other Party Info `254711000001 - NAME`, `2547****0111 - NAME`, `0712****678 - NAME`;
  Details `Pay Bill from 2547... - NAME Acc. X`; amounts quoted with thousands separators; Withdrawn negative.
- Statement PDF (the personal/Pochi statement; the password is the customer's ID number): rows
  `RECEIPT YYYY-MM-DD HH:MM:SS Details... Completed <amount> <balance>`, Details wrapping onto following lines,
  a negative amount is money out. A charge row shares its parent's receipt and is money out.
  UNCONFIRMED: reversal rows (read when Details or Reason Type says "Reversal"; the original receipt is the
  Linked Transaction ID, or a receipt named in Details).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from bot.ledger.money import quantize
from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import MsisdnKind, PayerPhone, mask_phone
from bot.mpesa.fields import NAIROBI
from bot.mpesa.sms import read_payer_phone

MAX_FIELD = 500
MAX_HEADER_SEARCH = 40  # preamble lines before the header row
_RECEIPT = re.compile(r"^[A-Z0-9]{8,12}$")
_RECEIPT_IN_TEXT = re.compile(r"\b([A-Z0-9]{10})\b")
_HEADER = {"receipt no.": "receipt", "receipt no": "receipt", "receipt": "receipt", "completion time": "completed",
           "initiation time": "initiated", "details": "details", "transaction status": "status", "paid in": "paid_in",
           "withdrawn": "withdrawn", "balance": "balance", "reason type": "reason", "other party info": "other",
           "linked transaction id": "linked", "a/c no.": "account", "a/c no": "account"}
_PREAMBLE_SHORTCODE = re.compile(r"^\s*(?:paybill|till|short\s*code|shortcode|organisation\s*short\s*code)"
                                 r"\s*(?:number)?\s*[,:;]\s*\"?(\d{5,7})\b", re.IGNORECASE)
_FROM_PARTY = re.compile(r"\bfrom\s+(?P<party>.*?)(?:\s+acc\.\s*(?P<acc>.*))?$", re.IGNORECASE)
_FULL_PHONE = re.compile(r"(?<!\d)(?:\+?254|0)([17]\d{8})(?!\d)")
_PARTY = re.compile(r"^(?P<phone>[+\d*xX]{6,16})\s*-?\s*(?P<name>.*)$")


class RowKind(StrEnum):
    MONEY_IN = "in"
    MONEY_OUT = "out"
    REVERSAL = "reversal"
    NOT_COMPLETED = "not_completed"


@dataclass(frozen=True, slots=True)
class StatementRow:
    line: int
    kind: RowKind
    receipt: str
    completed_at: datetime  # aware UTC (statements are Nairobi time)
    amount: Decimal  # positive: paid in, or withdrawn
    details: str = ""
    status: str = "Completed"
    payer_name: str = ""
    phone: PayerPhone = PayerPhone(MsisdnKind.MISSING)
    account: str = ""
    original: str = ""  # a reversal's original receipt, when the statement says
    charge: bool = False  # money out that is M-PESA's charge

    def incoming(self, shortcode: str) -> IncomingPayment:
        return IncomingPayment(trans_id=self.receipt, amount=self.amount, paid_at=self.completed_at,
                               shortcode=shortcode, reference=self.account, payer_name=self.payer_name,
                               phone=self.phone, source=PaymentSource.STATEMENT)


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    reason: str
    receipt: str | None = None


@dataclass(frozen=True, slots=True)
class StatementProblem:
    """The file as a whole cannot be read (no header, wrong password, not a PDF...)."""

    reason: str


StatementItem = StatementRow | RowProblem


# CSV -------------------------------------------------------------------------------------------------------------
def read_portal_csv(lines: Iterable[str]) -> tuple[str | None, Iterator[StatementItem]] | StatementProblem:
    """The preamble's shortcode (if it names one) and the rows, read lazily."""
    iterator = iter(lines)
    preamble_shortcode: str | None = None
    consumed: list[str] = []
    for index, line in enumerate(iterator):
        if index >= MAX_HEADER_SEARCH:
            return StatementProblem("no 'Receipt No.' header in the first lines: not an M-PESA statement export")
        found = _PREAMBLE_SHORTCODE.match(line)
        if found:
            preamble_shortcode = found.group(1)
        if "receipt no" in line.lower():
            consumed.append(line)
            break
    else:
        return StatementProblem("no 'Receipt No.' header: not an M-PESA statement export")
    header = next(csv.reader(consumed))
    columns = {_HEADER[h.strip().lower()]: i for i, h in enumerate(header) if h.strip().lower() in _HEADER}
    missing = [n for n in ("receipt", "completed", "paid_in", "withdrawn") if n not in columns]
    if missing:
        return StatementProblem(f"the header has no {', '.join(missing)} column")
    first_line = index + 1  # the header's line number
    return preamble_shortcode, _csv_rows(iterator, columns, first_line)


def _csv_rows(lines: Iterator[str], columns: dict[str, int], first_line: int) -> Iterator[StatementItem]:
    reader = csv.reader(lines)
    line = first_line
    while True:
        line += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a stray line break or NUL: that row is a problem, the rest still read
            yield RowProblem(line, f"not a CSV row ({error})"[:200])
            continue
        if not any(c.strip() for c in cells):
            continue
        try:
            yield _csv_row(line, {name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()})
        except (ValueError, InvalidOperation, OverflowError) as error:
            receipt = cells[columns["receipt"]].strip().upper() if columns["receipt"] < len(cells) else None
            yield RowProblem(line, str(error)[:200], receipt or None)


def _csv_row(line: int, cell: dict[str, str]) -> StatementItem:
    receipt = cell["receipt"].upper()
    if not _RECEIPT.match(receipt):
        return RowProblem(line, f"{receipt[:20]!r} is not a receipt number", None)
    if any(len(v) > MAX_FIELD for v in cell.values()):
        return RowProblem(line, "a field is too long", receipt)
    completed = read_statement_time(cell["completed"])
    paid_in, withdrawn = _money(cell["paid_in"]), _money(cell["withdrawn"])
    details, reason = cell.get("details", ""), cell.get("reason", "")
    status = cell.get("status", "") or "Completed"
    name, phone, account = _party(cell.get("other", ""), details)
    account = cell.get("account", "") or account
    amount = paid_in if paid_in else withdrawn
    if not amount:
        return RowProblem(line, "neither Paid In nor Withdrawn has an amount", receipt)
    kind = _kind(status, details, reason, paid_in)
    original = _original(cell.get("linked", ""), details, receipt) if kind is RowKind.REVERSAL else ""
    return StatementRow(line, kind, receipt, completed, amount, _masked(details), status, name, phone, account,
                        original, kind is RowKind.MONEY_OUT and "charge" in details.lower())


def _kind(status: str, details: str, reason: str, paid_in: Decimal | None) -> RowKind:
    if status.strip().lower() != "completed":
        return RowKind.NOT_COMPLETED
    if "revers" in details.lower() or "revers" in reason.lower():
        return RowKind.REVERSAL
    return RowKind.MONEY_IN if paid_in else RowKind.MONEY_OUT


def _original(linked: str, details: str, receipt: str) -> str:
    linked = linked.strip().upper()
    if _RECEIPT.match(linked) and linked != receipt:
        return linked
    named = [c for c in _RECEIPT_IN_TEXT.findall(details.upper()) if c != receipt and any(ch.isdigit() for ch in c)]
    return named[0] if named else ""


def _party(other: str, details: str) -> tuple[str, PayerPhone, str]:
    """Name, phone and account from Other Party Info (`2547****0111 - MARY ATIENO`) or Details
    (`Pay Bill from 254712345678 - JANE DOE Acc. GV-A1`)."""
    account = ""
    text = other.strip()
    found_from = _FROM_PARTY.search(details) if details else None
    if found_from:
        account = (found_from.group("acc") or "").strip()
        if not text:
            text = found_from.group("party")
    party = _PARTY.match(text)
    if party and any(c.isdigit() for c in party.group("phone")):
        # a phone masked whole (2547XXXXXXXX) tells nothing, but it is still not part of the name
        phone = read_payer_phone(party.group("phone")) or PayerPhone(MsisdnKind.MISSING)
        return _name(party.group("name")), phone, account
    return _name(text), PayerPhone(MsisdnKind.MISSING), account


def _masked(details: str) -> str:
    """Details as kept: a full phone number in it becomes `2547******678` (never stored whole)."""
    return _FULL_PHONE.sub(lambda m: mask_phone("254" + m.group(1)), details)


def _name(text: str) -> str:
    return " ".join(text.split()).strip(" -")[:100]


def _money(text: str) -> Decimal | None:
    """`1,131,340.00`, `-4000.00`, `` -> positive Decimal or None. Refuses more than two decimals."""
    cleaned = text.replace(",", "").replace("KES", "").replace("Ksh", "").strip().strip('"')
    if not cleaned or cleaned in ("-", "0", "0.00", "-0.00"):
        return None
    value = abs(Decimal(cleaned))
    if not value.is_finite() or value != quantize(value) or value.adjusted() > 12:
        raise ValueError(f"{text[:30]!r} is not an amount")
    return quantize(value) if value else None


_STAMP = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def read_statement_time(text: str) -> datetime:
    """`2026-10-02 12:30:00`, `06-10-2026 09:30:15`, `20-04-2017 15:50`, `02/10/2026 12:30` (day first when the
    year is last: a Kenyan export), Nairobi time, as aware UTC. A regex, not strptime: 20,000 rows a file."""
    found = _STAMP.match(" ".join(text.split()))
    if found is None:
        raise ValueError(f"{text[:30]!r} is not a date and time")
    first, middle, last, hour, minute, second = found.groups()
    if len(first) == 4:
        year, month, day = int(first), int(middle), int(last)
    elif len(last) == 4:
        day, month, year = int(first), int(middle), int(last)
    else:
        raise ValueError(f"{text[:30]!r} has no four-digit year")
    if not 2000 <= year <= 2099:
        raise ValueError(f"{text[:30]!r} is not a plausible year")
    local = datetime(year, month, day, int(hour), int(minute), int(second or 0), tzinfo=NAIROBI)
    return local.astimezone(UTC)


# PDF -------------------------------------------------------------------------------------------------------------
_PDF_ROW = re.compile(r"^(?P<receipt>[A-Z0-9]{10})\s+(?P<when>\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2})\s*(?P<rest>.*)$")
_PDF_TAIL = re.compile(r"^(?P<details>.*?)\s*(?P<status>Completed|Failed|Cancelled|Declined|Expired|Reversed|Pending)"
                       r"\s*(?P<amounts>(?:-?[\d,]+\.\d{2}\s*){1,3})$", re.IGNORECASE)
_AMOUNT = re.compile(r"-?[\d,]+\.\d{2}")


def read_pdf_lines(lines: Iterable[str]) -> Iterator[StatementItem]:
    """The rows of a statement PDF's text layer, a row's wrapped Details lines joined to it."""
    pending: tuple[int, re.Match[str], list[str]] | None = None
    for number, raw in enumerate(lines, start=1):
        line = " ".join(raw.split())
        started = _PDF_ROW.match(line)
        if started:
            if pending is not None:
                yield _pdf_row(*pending)
            pending = (number, started, [])
        elif pending is not None and line and not _is_page_furniture(line):
            pending[2].append(line)
    if pending is not None:
        yield _pdf_row(*pending)


def _is_page_furniture(line: str) -> bool:
    low = line.lower()
    return low.startswith(("receipt no", "page ", "disclaimer", "m-pesa statement")) or "completion time" in low


def _pdf_row(line: int, start: re.Match[str], more: list[str]) -> StatementItem:
    receipt = start.group("receipt")
    try:
        completed = read_statement_time(start.group("when"))
        tail = _PDF_TAIL.match(start.group("rest"))
        if tail is None:
            return RowProblem(line, "no status and amount on the row", receipt)
        amounts = _AMOUNT.findall(tail.group("amounts"))
        if len(amounts) < 2:
            return RowProblem(line, "expected an amount and a balance", receipt)
        signed = Decimal(amounts[0].replace(",", ""))
        details = " ".join([tail.group("details"), *more]).strip()
        status = tail.group("status").capitalize()
        amount = _money(amounts[0])
    except (ValueError, InvalidOperation, OverflowError) as error:
        return RowProblem(line, str(error)[:200], receipt)
    if amount is None:
        return RowProblem(line, "the amount is zero", receipt)
    paid_in = amount if signed > 0 else None
    kind = _kind(status, details, "", paid_in)
    name, phone, account = _party("", details)
    original = _original("", details, receipt) if kind is RowKind.REVERSAL else ""
    return StatementRow(line, kind, receipt, completed, amount, _masked(details[:MAX_FIELD]), status, name, phone,
                        account, original, kind is RowKind.MONEY_OUT and "charge" in details.lower())


def read_statement_pdf(data: bytes, password: str | None) -> Iterator[StatementItem] | StatementProblem:
    """Open (and decrypt) the PDF and read its rows page by page. pypdf is imported here: only imports need it."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            if not password:
                return StatementProblem("the PDF is password-protected: give its password (your ID number)")
            if not reader.decrypt(password):
                return StatementProblem("wrong password for the PDF")
        pages = list(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        return StatementProblem(f"not a readable PDF ({type(error).__name__})")
    except Exception as error:  # noqa: BLE001 - pypdf raises a variety on broken files (and needs its crypto extra)
        return StatementProblem(f"not a readable PDF ({type(error).__name__})")

    def lines() -> Iterator[str]:
        for page in pages:
            try:
                text = page.extract_text() or ""
            except Exception:  # noqa: BLE001, S112 - one broken page must not lose the others (its rows are missing)
                continue
            yield from text.splitlines()

    return read_pdf_lines(lines())


def looks_like_pdf(data: bytes) -> bool:
    return data[:5] == b"%PDF-"


def decode_csv(data: bytes) -> str | StatementProblem:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return StatementProblem("the file is neither UTF-8 nor Windows-1252 text")


def csv_lines(text: str) -> Iterator[str]:
    return iter(io.StringIO(text, newline=""))
