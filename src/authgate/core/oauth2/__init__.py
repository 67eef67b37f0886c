"""The OAuth 2.0 protocol engine (RFC 6749 and the RFCs around it)."""
