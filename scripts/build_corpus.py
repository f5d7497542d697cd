"""Merge seeds/parts/*.jsonl into leak-free seeded splits: python scripts/build_corpus.py"""

import argparse
import json
import sys
from pathlib import Path

from training.corpus import build_corpus, update_card


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", default="seeds/parts")
    parser.add_argument("--out", default="seeds")
    parser.add_argument(
        "--reshuffle", action="store_true", help="draw every split anew (default: rows keep the split of the last build)"
    )
    args = parser.parse_args()
    summary = build_corpus(args.parts, args.out, keep_previous=not args.reshuffle)
    if (Path(args.out) / "README.md").is_file():
        update_card(args.out)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
