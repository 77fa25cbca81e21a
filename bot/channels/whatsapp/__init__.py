"""The WhatsApp channel through Twilio: `runtime.WhatsAppChannel` (the one Channel), `sender` (replies out
through the REST API), `inbound` (forms in), `media` (files by signed, expiring URL)."""
