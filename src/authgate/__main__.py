"""``python -m authgate``: the server's command line."""

from authgate.server.cli import main

if __name__ == "__main__":  # importing this module (e.g. to scan the package) runs nothing
    main()
