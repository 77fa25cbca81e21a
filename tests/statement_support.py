"""Statement files for tests: Org Portal CSVs in the shapes of statement_samples.txt, and real PDFs (built here,
password-protected with pypdf's AES) whose text layer has the personal statement's row layout."""

from __future__ import annotations

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

PORTAL_HEADER = ("Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,"
                 "Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.")


def portal_csv(rows: list[str], preamble: tuple[str, ...] = ("Organisation Name,ACME HOMES", "Paybill,600984")
               ) -> bytes:
    return ("\r\n".join([*preamble, PORTAL_HEADER, *rows]) + "\r\n").encode()


def paid_in(receipt: str, when: str, amount: str, account: str = "INV-0001",
            party: str = "254711000001 - ACHIENG OWINO", details: str = "Pay Bill Online") -> str:
    return f'{receipt},{when},{when},{details},Completed,"{amount}",,66,TRUE,Pay Bill Online,{party},,{account}'


def withdrawn(receipt: str, when: str, amount: str, details: str = "Business Pay Bill Charge") -> str:
    return f'{receipt},{when},{when},{details},Completed,,"-{amount}",66,TRUE,Pay Bill Charge,,,'


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def statement_pdf(lines: list[str], password: str | None = "12345678", per_page: int = 60) -> bytes:
    """A real PDF, one text line per statement line, AES-128 encrypted when a password is given."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({  # noqa: SLF001 - pypdf has no public add_object
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    pages = [lines[i:i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    for chunk in pages:
        page = writer.add_blank_page(595, 842)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({
            NameObject("/F1"): font})})
        ops = ["BT /F1 8 Tf 30 820 Td 12 TL"] + [f"({_escape(line)}) Tj T*" for line in chunk] + ["ET"]
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)  # noqa: SLF001
    if password is not None:
        writer.encrypt(user_password=password, owner_password=None, algorithm="AES-128")
    import io

    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
