"""Classify sentences or articles: python scripts/predict.py "Jets struck the town."

Runs the installed package (``make install`` or ``pip install -e .`` installs this checkout into .venv).
"""

import sys

from model.cli import main

if __name__ == "__main__":
    sys.exit(main())
