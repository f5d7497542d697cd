"""Train the classifier: python scripts/train.py --config configs/default.yaml training.epochs=5"""

import sys
from pathlib import Path

# Replace the scripts/ folder on the path (its evaluate.py would shadow the `evaluate` library) by the project root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from training.cli import train_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(train_main())
