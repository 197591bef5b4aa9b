"""Curricula: which problems each round trains on, chosen from the model's own results.

`base.py` holds the interface (`Arm`, `Curriculum`, the `CURRICULA` registry); each mode is one module
that registers itself at its bottom (fixed, threshold, bandit, self_label).
"""

from .base import CURRICULA, Arm, Curriculum

__all__ = ["CURRICULA", "Arm", "Curriculum"]
