"""Store real-news results into a checkpoint and render its model card:
python scripts/model_card.py CHECKPOINT --results benchmarks/accuracy.json --error-analysis docs/error_analysis.json"""

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project root, not scripts/

from model.card import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
