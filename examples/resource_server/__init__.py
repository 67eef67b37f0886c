"""An API protected by authgate's JWT access tokens: ``python -m examples.resource_server``."""
