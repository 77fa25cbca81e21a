"""Learning from an owner's confirmation: aliases that recognise the same payer next time."""

from __future__ import annotations

from bot.ledger.book import Alias, AliasKind, Customer, masked_alias_key
from bot.ledger.payments import IncomingPayment
from bot.ledger.phones import MsisdnKind, normalise_phone
from bot.ledger.references import is_filler, name_key, name_tokens, reference_key


def learn_from_confirmation(payment: IncomingPayment, customer: Customer) -> list[Alias]:
    """What the payment showed about its payer, now known to pay for `customer`: the phone hash,
    the masked phone with the first name, the payer's name and a free-text reference. Facts the book
    already knows (the customer's own phone, an invoice number typed as reference) are not repeated."""
    aliases: list[Alias] = []
    phone = payment.phone
    if phone.sha256 is not None and phone.sha256 not in customer.phone_hashes:
        aliases.append(Alias(AliasKind.PHONE_HASH, phone.sha256, customer.id))
    first = _first_name(payment.payer_name)
    if phone.kind is MsisdnKind.MASKED and phone.masked_prefix and phone.masked_suffix and first:
        key = masked_alias_key(phone.masked_prefix, phone.masked_suffix, first)
        aliases.append(Alias(AliasKind.MASKED_PHONE, key, customer.id))
    payer = name_key(payment.payer_name)
    if len(name_tokens(payment.payer_name)) >= 2:  # a first name alone is shared by too many payers
        aliases.append(Alias(AliasKind.PAYER_NAME, payer, customer.id))
    if _worth_remembering(payment.reference):
        aliases.append(Alias(AliasKind.REFERENCE, reference_key(payment.reference), customer.id))
    return aliases


def _first_name(payer_name: str) -> str:
    parts = payer_name.split()
    return parts[0].lower() if parts else ""


def _worth_remembering(reference: str) -> bool:
    """Free text that is neither filler nor a phone number (phones are matched by hash)."""
    if is_filler(reference) or normalise_phone(reference) is not None:
        return False
    return bool(name_tokens(reference)) or len(reference_key(reference)) >= 3
