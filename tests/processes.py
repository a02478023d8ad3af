"""Background processes the tests start (workers, beat, web servers) die with pytest.

They run in their own session (so a test can kill a whole process group, as a
machine dying would), which also means a terminal's Ctrl-C or a killed pytest no
longer reaches them. ``die_with_parent`` (Linux's PR_SET_PDEATHSIG, set in the
child before exec) has the kernel send SIGKILL to the process when the pytest
that started it dies, however it dies.
"""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for subprocess.Popen: SIGKILL this child when its parent exits."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
