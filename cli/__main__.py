"""``python -m cli``: the ``parzen`` command, where its script is not on the PATH."""

from cli._main import main

main(prog_name="parzen")
