"""Store real-news results into a checkpoint and render its model card:
python scripts/model_card.py CHECKPOINT --results benchmarks/accuracy.json --error-analysis docs/error_analysis.json"""

import sys

from model.card import main

if __name__ == "__main__":
    sys.exit(main())
