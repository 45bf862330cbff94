"""Status lines: what wphil is waiting for, said before a wait of more than a second or two.

Library code logs them on the `wphil.status` logger at INFO (library code never prints); the
CLI shows that logger on stderr as `wphil: ...` lines, a script sees them only if it asks
(`logging.getLogger("wphil.status")`). A long wait with no word (an emulated Pico booting
and being flashed, about 11 s) looks like a hang.
"""

from __future__ import annotations

import logging

status = logging.getLogger("wphil.status")
