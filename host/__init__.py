"""What the user drives: tasks, learning rules, optimizers, the training loop, runs, the CLI."""

__version__ = "0.1.0"
