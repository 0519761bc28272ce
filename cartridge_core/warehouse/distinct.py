"""Distinct counts of a whole table from a row-level sample of it.

The sample's values are grouped in SQL; what the estimator needs of each column fits in a few
sums over its value groups (`ValueCounts`), so no value leaves the warehouse for this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueCounts:
    """What a sample says about one column's non-null values, through the sizes of their groups."""

    non_null: int  # n: non-null values in the sample
    distinct: int  # d: different values among them
    singletons: int  # f1: values seen exactly once
    sum_squares: float  # sum over values of (times seen)^2
    shlosser_numerator: float  # sum over values of (1 - q)^(times seen)
    shlosser_denominator: float  # sum over values of (times seen) * q * (1 - q)^(times seen - 1)


def estimate_distinct(counts: ValueCounts, fraction: float) -> int:
    """The number of different values in the whole table, from a row-level sample of `fraction` of it.

    Haas, Naughton, Seshadri & Stokes' hybrid (VLDB 1995): a chi-square test says whether the
    values look uniformly frequent; if so, the Haas-Stokes Duj1 estimator (PostgreSQL's ANALYZE
    uses it too), which is right within a few percent for uniform data; if skewed, Shlosser's,
    which Duj1 underestimates badly (half-unique columns, long tails). Never below the values seen
    nor above the estimated non-null rows.
    """
    n, d, f1 = counts.non_null, counts.distinct, counts.singletons
    if fraction >= 1 or n == 0 or f1 == 0:
        return d
    population = n / fraction
    if _looks_uniform(counts):
        estimate = n * d / (n - f1 + f1 * fraction)
    elif counts.shlosser_denominator > 0:
        estimate = d + f1 * counts.shlosser_numerator / counts.shlosser_denominator
    else:
        estimate = d
    return round(min(max(estimate, d), population))


def _looks_uniform(counts: ValueCounts) -> bool:
    """Chi-square test (97.5 %) that every sampled value is about equally frequent."""
    n, d = counts.non_null, counts.distinct
    freedom = d - 1
    if freedom <= 0:
        return True
    statistic = d * counts.sum_squares / n - n
    # Wilson-Hilferty's approximation of the chi-square quantile; z = 1.96.
    critical = freedom * (1 - 2 / (9 * freedom) + 1.96 * math.sqrt(2 / (9 * freedom))) ** 3
    return statistic <= critical
