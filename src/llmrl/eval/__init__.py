"""Evaluation: success rates with confidence intervals (`stats`), learning curves and bars (`plots`)."""
