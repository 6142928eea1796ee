"""Figures: a run's loss curves and samples (``plots``) and the game seen from G's side (``game``).

matplotlib is optional (``pip install matplotlib``): without it these functions say so in one line.
"""
