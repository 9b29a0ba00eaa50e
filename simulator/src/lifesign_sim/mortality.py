"""Mortality by age and sex, from the China Life Insurance Mortality Table (2010-2013).

The table is CL5 (male) / CL6 (female), the *annuity* tables of the China Life Insurance
Mortality Table 2010-2013 (中国人身保险业经验生命表), carried by the PyPI package
``pymort`` (Society of Actuaries table ids 3379 and 3380). Pensioners are annuitants,
which makes the annuity tables the right shape; but insured annuitants live longer than
the general population of pensioners (selection, income), so the rates are multiplied by
``scale`` (default 1.5) to move them towards general-population mortality. The factor is
an assumption, not a fit: no general-population table ships with the package, and
published Chinese population life tables put old-age mortality roughly one and a half to
two times the annuity rates. It is a parameter of the simulation (``--mortality-scale``),
and the manifest of every run records it with the crude death rate it produced.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray
from pymort import MortXML

CL5_MALE_ANNUITY = 3379
CL6_FEMALE_ANNUITY = 3380
MAX_AGE = 105


@cache
def _rates(table_id: int) -> NDArray[np.float64]:
    """q_x for x = 0..MAX_AGE from the pymort table."""
    table = MortXML.from_id(table_id)
    values = table.Tables[0].Values
    rates = np.ones(MAX_AGE + 1)
    for age, q in values["vals"].items():
        if 0 <= int(age) <= MAX_AGE:
            rates[int(age)] = float(q)
    return rates


def annual_q(age: NDArray[np.int64], male: NDArray[np.bool_], scale: float) -> NDArray[np.float64]:
    """One-year death probability at integer ``age`` (clipped to the table), scaled."""
    ages = np.clip(age, 0, MAX_AGE)
    q = np.where(male, _rates(CL5_MALE_ANNUITY)[ages], _rates(CL6_FEMALE_ANNUITY)[ages])
    return np.clip(q * scale, 0.0, 0.999)
