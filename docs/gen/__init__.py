"""Page sections generated at build time by docs/hooks.py."""
