"""Speed benchmarks behind `llmrl bench ...`."""
