"""Train if needed, evaluate, classify the sample article: python scripts/demo.py

Runs the installed package (``make install`` or ``pip install -e .`` installs this checkout into .venv).
"""

import sys

from training.cli import demo_main

if __name__ == "__main__":
    sys.exit(demo_main())
