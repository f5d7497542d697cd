"""Train the classifier: python scripts/train.py --config configs/default.yaml training.epochs=5

Runs the installed package (``make install`` or ``pip install -e .`` installs this checkout into .venv).
"""

import sys

from training.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
