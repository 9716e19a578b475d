"""A stand-in for a running `make up`, for the data directory lock tests:
`python -m tests.stack_lock_holder DATA_DIR`. It locks DATA_DIR as a stack does, starts one child
process the way the stack starts its servers, prints `ready <child pid>` and sleeps until killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from devstack.stack import Ports, Stack


def main(data_dir: Path) -> None:
    stack = Stack(data_dir=data_dir, ports=Ports.free(), say=lambda _: None)
    stack.lock()
    (data_dir / "temporal.db").write_text("in use")
    child = stack.spawn("temporal", [sys.executable, "-c", "import time; time.sleep(600)"])
    print(f"ready {child.process.pid}", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
