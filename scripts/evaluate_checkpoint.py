"""Evaluate a checkpoint: python scripts/evaluate_checkpoint.py --checkpoint DIR --data FILE

Runs the installed package (``make install`` or ``pip install -e .`` installs this checkout into .venv).
"""

import sys

from training.cli import evaluate_main

if __name__ == "__main__":
    sys.exit(evaluate_main())
