"""Metrics of a round, as pure functions over plain records: no model, numpy only.

- `stats`:       wilson_interval, mean_ci
- `passk`:       pass_at_k (unbiased), pass_at_k_curve, maj_at_k, maj_at_k_expected, mean_at_n,
                 majority_vote
- `diversity`:   exploration: distinct answers / correct texts, distinct-n, entropy, lengths
- `exploit`:     exploitation: precision / recall / F1 of a selector, AUROC, B-STaR balance score
- `calibration`: ECE, reliability bins, confidence AUROC, Brier score
- `rollout`:     round_metrics, the whole set under the field's names (`pass@4`, `maj@4`, ...)
- `evaluation`: eval_metrics, what a held-out evaluation reports (`eval/accuracy`, ...)
- `grouping`:    group a round's flat samples and scores by problem
- `collapse`:    answer collapse across problems: answer entropy, top answer share, constant-answer
                 baselines (collapse_metrics, collapse_message, collapse_warning)
"""

from .collapse import collapse_message, collapse_metrics, collapse_warning
from .calibration import brier_score, calibration_bins, confidence_auroc, expected_calibration_error
from .evaluation import eval_metrics
from .diversity import (distinct_answers, distinct_correct_answers, distinct_correct_texts, distinct_n,
                        distinct_n_problem, mean_completion_length, mean_entropy, mean_stat,
                        mean_token_logprob, ngrams, normalize_ws, sample_entropy, token_logprob)
from .exploit import (auroc, average_ranks, balance_counts, balance_score, precision_recall_f1,
                      problem_balance, threshold_choice)
from .grouping import ProblemGroup, check_aligned, group_by_problem
from .passk import (is_right, maj_at_k, maj_at_k_expected, majority_vote, mean_at_n, pass_at_k,
                    pass_at_k_curve)
from .rollout import DEFAULT_KS, round_metrics
from .stats import mean_ci, wilson_interval

ece = expected_calibration_error

__all__ = [
    "DEFAULT_KS", "ProblemGroup", "auroc", "average_ranks", "balance_counts", "balance_score",
    "brier_score", "calibration_bins", "collapse_message", "collapse_metrics", "collapse_warning",
    "check_aligned", "confidence_auroc", "distinct_answers",
    "distinct_correct_answers", "distinct_correct_texts", "distinct_n", "distinct_n_problem", "ece", "eval_metrics",
    "expected_calibration_error", "group_by_problem", "is_right", "maj_at_k", "maj_at_k_expected",
    "majority_vote", "mean_at_n", "mean_ci", "mean_completion_length", "mean_entropy",
    "mean_stat", "mean_token_logprob", "ngrams", "normalize_ws", "pass_at_k", "pass_at_k_curve",
    "precision_recall_f1", "problem_balance", "round_metrics", "sample_entropy", "threshold_choice",
    "token_logprob", "wilson_interval",
]
