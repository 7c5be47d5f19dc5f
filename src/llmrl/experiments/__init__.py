"""Experiment runners: many training runs (seeds x methods) launched, resumed and summarized.

They sit above the trainers and drive them as `llmrl train ...` subprocesses.
"""
