"""`python -m heartline` runs the command line."""

from heartline.cli import main

main()
