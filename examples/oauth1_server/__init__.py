"""An OAuth 1.0a provider written against authgate exactly as the seed documentation sets one up.

``app_cache`` keeps nonces and temporary credentials in a cache, ``app_sqla``
keeps everything in SQLAlchemy; both share ``models`` and ``views``.
Run one with ``flask --app examples.oauth1_server.app_cache run``.
"""
