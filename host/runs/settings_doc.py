"""The training-settings reference page, rendered from the one schema
(wphil.drivers.training_settings), so the docs cannot disagree with the code.

    python -m wphil.runs.settings_doc docs/reference/training-settings.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from wphil.drivers.keys import allowed
from wphil.drivers.training_settings import SETTINGS, TYPES, option_name
from wphil.learning import RULES

PAGE = "docs/reference/training-settings.md"
COMMAND = f"python -m wphil.runs.settings_doc {PAGE}"

_INTRO = """\
Every training setting, declared once (`wphil.drivers.training_settings`): the options of
`wphil train`, the keywords of `wphil.train(...)`, the keys of a bench file's `[defaults]`
table and the checks of `wphil train --resume` all read this one schema, with one range each.
A bench's `[defaults]` also has `pattern_lr`, the learning rate used instead of `lr` for
per-pattern steps (`--batch-size 1`, `--onchip`).

- **bench**: the bench file's `[defaults]` may set it, and its value is the default.
- **resume**: may change on `wphil train --resume DIR`; the others are fixed in the run's
  `config.toml`.
- Settings without an option are keywords of `wphil.train` only.
"""


def _allowed(name: str) -> str:
    if name == "algo":
        return "one of " + ", ".join(sorted(RULES))
    if TYPES[name] is bool:
        return "true, false"
    return allowed(SETTINGS[name].metadata)


def settings_markdown() -> str:
    """The reference page: a header, what the columns mean, one table row per setting."""
    rows = ["| setting | option | type | default | allowed | bench | resume | meaning |",
            "|---|---|---|---|---|---|---|---|"]
    for name, f in SETTINGS.items():
        meta = f.metadata
        option = f"`{option_name(name)}`" if meta["cli"] else "(API only)"
        rows.append(f"| `{name}` | {option} | {TYPES[name].__name__} | `{f.default!r}` | "
                    f"{_allowed(name)} | {'yes' if meta['bench'] else ''} | "
                    f"{'yes' if meta['resume'] else ''} | {meta['doc']} |")
    return (f"<!-- generated from the settings schema; do not edit. Regenerate: {COMMAND} -->\n"
            f"# Training settings\n\n{_INTRO}\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    Path(sys.argv[1] if len(sys.argv) > 1 else PAGE).write_text(settings_markdown(),
                                                                encoding="utf-8")
