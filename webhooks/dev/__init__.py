"""Tools for trying Hesabu locally: the payment simulator (real C2B confirmations posted over HTTP)."""
