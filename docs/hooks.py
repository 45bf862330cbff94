"""mkdocs hooks: the parts of the site that come from the repository rather than from docs/.

- The home page is README.md, its links rewritten for the site.
- A line `<!-- generated: NAME -->` in a page is replaced by what docs/gen/ makes from the
  code (reference) or from bench/results (results); a problem found while generating (an
  undocumented key, option or file) is a warning, so `mkdocs build --strict` fails on it.
- Repository files the pages link to or show (the committed schematic, results tables and
  plots) are served under ``repo/`` from where they live, never copied into docs/.
- mkdocstrings reads the sources through a tree laid out as the installed package is
  (host/ is `wphil`, drivers/ `wphil.drivers`, firmware/ `wphil.firmware`).
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File, Files

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(DOCS))

from gen import reference, results  # noqa: E402

log = logging.getLogger("mkdocs.hooks.wphil")

#: the package as installed, for mkdocstrings (mkdocs.yml: plugins.mkdocstrings paths)
API_TREE = REPO / "build" / "docs-api"

# repository files the pages link to, served as repo/<path>
REPO_FILES = (
    "bench/schematic/xor-2-2-1/schematic.png",
    "bench/schematic/xor-2-2-1/schematic.svg",
    "bench/schematic/xor-2-2-1/wiring.md",
    "bench/schematic/xor-2-2-1/parts.md",
    "bench/results/learn/learn.md",
    "bench/results/learn/learn.png",
    "bench/results/learn-spice-tuned/learn.png",
    "bench/results/learn-heldout-tuned/learn.png",
)

# README.md's links, rewritten for the site (the home page is the README)
README_LINKS = (
    ("](docs/", "]("),
    ("](bench/", "](repo/bench/"),
    ("](firmware/PROTOCOL.md)", "](reference/protocol.md)"),
)

GENERATED = re.compile(r"^<!-- generated: ([\w-]+)(?: (.*?))? -->$", re.M)
GENERATORS = {**reference.GENERATORS, **results.GENERATORS}


def _build_api_tree() -> None:
    """API_TREE/wphil: host/'s entries, plus drivers/ and firmware/ as its subpackages."""
    package = API_TREE / "wphil"
    package.mkdir(parents=True, exist_ok=True)
    links = {entry.name: entry for entry in (REPO / "host").iterdir()
             if entry.name != "__pycache__"}
    links.update(drivers=REPO / "drivers", firmware=REPO / "firmware")
    for name, target in links.items():
        link = package / name
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)


# at import, not in on_config: mkdocstrings fixes its search paths before the hooks' on_config
_build_api_tree()


def on_files(files: Files, config) -> Files:
    for rel in REPO_FILES:
        source = REPO / rel
        if not source.is_file():
            log.warning("hooks: %s is listed in REPO_FILES but missing", rel)
            continue
        files.append(File.generated(config, f"repo/{rel}", abs_src_path=str(source)))
    return files


def _generate(match: re.Match, page: str) -> str:
    name, argument = match.group(1), match.group(2)
    if name not in GENERATORS:
        log.warning("%s: unknown generated section %r (known: %s)", page, name,
                    ", ".join(GENERATORS))
        return match.group(0)
    problems: list[str] = []
    text = (GENERATORS[name](problems, argument) if argument is not None
            else GENERATORS[name](problems))
    for problem in problems:
        log.warning("%s: %s", page, problem)
    return text


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri == "index.md":
        markdown = (REPO / "README.md").read_text(encoding="utf-8")
        for old, new in README_LINKS:
            markdown = markdown.replace(old, new)
    return GENERATED.sub(lambda m: _generate(m, page.file.src_uri), markdown)
