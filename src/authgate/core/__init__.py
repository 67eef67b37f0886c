"""The protocol engine: requests in, responses out, storage behind small interfaces.

Nothing here imports a web framework, an ORM or a cache client.
"""
