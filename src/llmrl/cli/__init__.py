"""Command-line entry point: `llmrl --help`."""

from llmrl.cli.app import app


def main() -> None:
    """Run the `llmrl` command."""
    # Importing a command module registers its commands on `app`.
    from llmrl.cli import lm_commands  # noqa: F401
    from llmrl.cli import baseline_commands  # noqa: F401
    from llmrl.cli import babyai_commands  # noqa: F401
    from llmrl.cli import run_commands  # noqa: F401
    from llmrl.cli import crafter_commands  # noqa: F401
    from llmrl.cli import ellm_commands  # noqa: F401
    from llmrl.cli import glam_commands  # noqa: F401
    from llmrl.cli import preset_commands  # noqa: F401
    from llmrl.cli import text_game_commands  # noqa: F401

    app()
