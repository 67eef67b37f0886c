"""Flask integration: the only code that reads ``flask.request``."""
