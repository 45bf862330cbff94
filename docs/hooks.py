"""mkdocs hooks: the parts of the site that come from the repository rather than from docs/.

Repository files a page links to or shows (the committed schematic, results tables and plots)
are served under ``repo/`` from where they live, so they are never copied into docs/ and cannot
go stale.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.wphil")

REPO = Path(__file__).resolve().parent.parent

# repository files the pages link to, served as repo/<path>
REPO_FILES = (
    "bench/schematic/xor-2-2-1/schematic.png",
    "bench/schematic/xor-2-2-1/schematic.svg",
    "bench/schematic/xor-2-2-1/wiring.md",
    "bench/schematic/xor-2-2-1/parts.md",
    "bench/results/learn/learn.md",
    "bench/results/learn/learn.png",
)


def on_files(files: Files, config) -> Files:
    for rel in REPO_FILES:
        source = REPO / rel
        if not source.is_file():
            log.warning("hooks: %s is listed in REPO_FILES but missing", rel)
            continue
        files.append(File.generated(config, f"repo/{rel}", abs_src_path=str(source)))
    return files


# README.md's links, rewritten for the site (the home page is the README)
README_LINKS = (
    ("](docs/", "]("),
    ("](bench/", "](repo/bench/"),
    ("](firmware/PROTOCOL.md)", "](reference/protocol.md)"),
)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri == "index.md":
        markdown = (REPO / "README.md").read_text(encoding="utf-8")
        for old, new in README_LINKS:
            markdown = markdown.replace(old, new)
    return markdown
