"""Classify sentences or articles: python scripts/predict.py "Jets struck the town." """

import sys
from pathlib import Path

# Replace the scripts/ folder on the path (its evaluate.py would shadow the `evaluate` library) by the project root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from model.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
