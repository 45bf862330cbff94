"""Test doubles that stand in for hardware: an emulated Pico on a pty, and ports that are not Picos."""
