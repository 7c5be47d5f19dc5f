"""Text environments: BabyAI-Text (`llmrl.envs.babyai_text`) and Text-Crafter (`llmrl.envs.crafter_text`)."""
