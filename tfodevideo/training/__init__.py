"""Training and evaluation of tfodevideo models."""
