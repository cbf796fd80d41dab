"""models: the PyTorch networks and skorch estimators that parzen tunes.

Depends on torch and skorch, and on :mod:`tpe_core` for trials.
"""
