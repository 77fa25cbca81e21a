"""The Telegram channel: `runtime.TelegramChannel` (the one Channel), `sender` (replies out through PTB),
`inbound` (updates in as InboundMessage)."""
