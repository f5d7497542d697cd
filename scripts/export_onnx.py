"""Export a checkpoint to ONNX (fp32 + int8): python scripts/export_onnx.py --checkpoint DIR"""

import sys
from pathlib import Path

# Replace the scripts/ folder on the path (its evaluate.py would shadow the `evaluate` library) by the project root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from model.cli import export_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(export_main())
