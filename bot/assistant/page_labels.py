"""The chat page's own labels, from the message catalogue, in the chat's language (the page asks for them
with its session and applies them by `data-label` key)."""

from __future__ import annotations

from bot.assistant.catalogue import N_, Lang, tr

LABELS = {
    "title": N_("Hesabu chat"),
    "placeholder": N_("Message, or /help"),
    "send": N_("Send"),
    "message": N_("Message"),
    "simulator": N_("Simulator"),
    "simulator_title": N_("Payment simulator"),
    "amount": N_("Amount (KES)"),
    "reference": N_("Account reference"),
    "payer": N_("Payer name"),
    "phone": N_("Phone"),
    "send_payment": N_("Send payment"),
    "burst": N_("Send a morning's burst"),
}


def page_labels(lang: Lang) -> dict[str, str]:
    return {key: tr(lang, text) for key, text in LABELS.items()}
