"""`python -m llmrl` (also what `torchrun -m llmrl` runs)."""

from llmrl.cli import main

main()
