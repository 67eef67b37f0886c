"""A Flask OAuth 2.0 provider written the way the seed documentation describes it.

Only the imports name authgate; the rest is the documented API: SQLAlchemy
models with the mixins, ``AuthorizationServer(app, query_client=...,
save_token=...)``, grant subclasses with their hooks, ``CodeChallenge``, an
authorize route with ``get_consent_grant`` / ``create_authorization_response``,
the token and revocation routes, and ``require_oauth`` on an API route.
"""
