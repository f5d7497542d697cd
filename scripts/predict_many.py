"""Classify millions of rows or articles on Ray Data: python scripts/predict_many.py SOURCE OUTPUT [--address auto]"""

import sys
from pathlib import Path

# Replace the scripts/ folder on the path (its evaluate.py would shadow the `evaluate` library) by the project root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from model.cli import predict_many_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(predict_many_main())
