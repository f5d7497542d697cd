"""Events of every sentence of articles: python scripts/extract.py FILE_OR_FOLDER_OR_- [--format csv]"""

import sys
from pathlib import Path

# Replace the scripts/ folder on the path (its evaluate.py would shadow the `evaluate` library) by the project root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from model.cli import extract_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(extract_main())
