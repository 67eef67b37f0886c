"""SQLAlchemy 2.0 models (``Mapped[]`` mixins) and stores for the protocol cores."""
