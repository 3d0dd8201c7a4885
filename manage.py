#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")
    from django.core.management import execute_from_command_line

    from uzwhisper.local_dirs import make_database_folder

    # `migrate` on a fresh VAR_DIR: SQLite makes the database file, not its folder.
    make_database_folder()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
