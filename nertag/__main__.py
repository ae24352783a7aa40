"""``python -m nertag``: the same as the ``nertag`` command."""

from nertag.cli import main

if __name__ == "__main__":
    main()
