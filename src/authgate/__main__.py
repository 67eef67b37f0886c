"""``python -m authgate``: the server's command line."""

from authgate.server.cli import main

main()
