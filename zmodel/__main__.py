"""``python -m zmodel``: the same as the ``zmodel`` console script."""

from zmodel.cli import main

main()
