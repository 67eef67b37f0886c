"""The server's routes: ``protocol`` for OAuth clients, ``pages`` for people at a browser."""
