"""``python -m integration.cli``: the same command as the ``jne-integration`` script."""

from integration.cli import main

if __name__ == "__main__":
    main()
