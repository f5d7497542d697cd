"""Classify millions of rows or articles on Ray Data: python scripts/predict_many.py SOURCE OUTPUT [--address auto]

Runs the installed package (``make install`` or ``pip install -e .`` installs this checkout into .venv).
"""

import sys

from model.cli import predict_many_main

if __name__ == "__main__":
    sys.exit(predict_many_main())
