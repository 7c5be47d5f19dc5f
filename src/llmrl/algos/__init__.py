"""Reusable RL algorithm core: GAE, PPO losses and update loop, DQN, n-step replay.

Every function here is model-agnostic: policies and Q-networks are reached only through
small callables (`evaluate(indices)`, `q_values(obs)`), so the GLAM LLM policy, the
symbolic-PPO CNN, NPAE, DRRN and the ELLM DQN all share one implementation.
"""
