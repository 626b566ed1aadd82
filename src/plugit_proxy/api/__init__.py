"""The proxy's API for services (PROTOCOL.md section 6)."""
