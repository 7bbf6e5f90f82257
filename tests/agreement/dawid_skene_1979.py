"""The data of Dawid & Skene (1979), Table 1, and the estimates the paper publishes.

A. P. Dawid and A. M. Skene, "Maximum likelihood estimation of observer error-rates
using the EM algorithm", Journal of the Royal Statistical Society, Series C (Applied
Statistics) 28(1), 20-28, 1979. https://doi.org/10.2307/2346806

45 patients, 5 anaesthetists (observers), 4 classes (1-4 in the paper, 0-3 here);
observer 1 assessed every patient three times, the others once each. Transcribed from
the paper's Table 1 as embedded in the public reference implementation
github.com/dallascard/dawid_skene (dawid_skene.py, `generate_sample_data`), checked
against the 0-based copy in a second public implementation's test suite.

Published estimates: Table 2 (class marginals), Table 3 (observer 1's error rates,
rows the true class, columns the class the observer said) and Table 4 (each
patient's final class: the first six patients, the ones both sources agree on).
"""

# RATINGS[patient] = (observer 1's three ratings, then observers 2, 3, 4, 5), classes 1-4.
RATINGS = [
    ((1, 1, 1), 1, 1, 1, 1),
    ((3, 3, 3), 4, 3, 3, 4),
    ((1, 1, 2), 2, 1, 2, 2),
    ((2, 2, 2), 3, 1, 2, 1),
    ((2, 2, 2), 3, 2, 2, 2),
    ((2, 2, 2), 3, 3, 2, 2),
    ((1, 2, 2), 2, 1, 1, 1),
    ((3, 3, 3), 3, 4, 3, 3),
    ((2, 2, 2), 2, 2, 2, 3),
    ((2, 3, 2), 2, 2, 2, 3),
    ((4, 4, 4), 4, 4, 4, 4),
    ((2, 2, 2), 3, 3, 4, 3),
    ((1, 1, 1), 1, 1, 1, 1),
    ((2, 2, 2), 3, 2, 1, 2),
    ((1, 2, 1), 1, 1, 1, 1),
    ((1, 1, 1), 2, 1, 1, 1),
    ((1, 1, 1), 1, 1, 1, 1),
    ((1, 1, 1), 1, 1, 1, 1),
    ((2, 2, 2), 2, 2, 2, 1),
    ((2, 2, 2), 1, 3, 2, 2),
    ((2, 2, 2), 2, 2, 2, 2),
    ((2, 2, 2), 2, 2, 2, 1),
    ((2, 2, 2), 3, 2, 2, 2),
    ((2, 2, 1), 2, 2, 2, 2),
    ((1, 1, 1), 1, 1, 1, 1),
    ((1, 1, 1), 1, 1, 1, 1),
    ((2, 3, 2), 2, 2, 2, 2),
    ((1, 1, 1), 1, 1, 1, 1),
    ((1, 1, 1), 1, 1, 1, 1),
    ((1, 1, 2), 1, 1, 2, 1),
    ((1, 1, 1), 1, 1, 1, 1),
    ((3, 3, 3), 3, 2, 3, 3),
    ((1, 1, 1), 1, 1, 1, 1),
    ((2, 2, 2), 2, 2, 2, 2),
    ((2, 2, 2), 3, 2, 3, 2),
    ((4, 3, 3), 4, 3, 4, 3),
    ((2, 2, 1), 2, 2, 3, 2),
    ((2, 3, 2), 3, 2, 3, 3),
    ((3, 3, 3), 3, 4, 3, 2),
    ((1, 1, 1), 1, 1, 1, 1),
    ((1, 1, 1), 1, 1, 1, 1),
    ((1, 2, 1), 2, 1, 1, 1),
    ((2, 3, 2), 2, 2, 2, 2),
    ((1, 2, 1), 1, 1, 1, 1),
    ((2, 2, 2), 2, 2, 2, 2),
]
PATIENTS, OBSERVERS, CLASSES = 45, 5, 4

# Table 2: estimated class marginals p_1..p_4.
MARGINALS = [0.40, 0.42, 0.11, 0.07]
# Table 3: observer 1's estimated error rates pi[true class, class said].
OBSERVER_1 = [
    [0.89, 0.11, 0.00, 0.00],
    [0.07, 0.88, 0.05, 0.00],
    [0.00, 0.34, 0.66, 0.00],
    [0.00, 0.00, 0.56, 0.44],
]
# Table 4: the final class (1-4) of patients 1-6. Patient 2 is the paper's example of the
# estimate overruling the majority: rated 3 five times and 4 twice, estimated class 4.
FIRST_PATIENTS_CLASS = [1, 4, 2, 2, 2, 2]


def observations() -> tuple[list[int], list[int], list[int]]:
    """(patient, observer, class said), 0-based, one per rating: 45 x 7 = 315 ratings."""
    patients, observers, said = [], [], []
    for patient, (first, *others) in enumerate(RATINGS):
        for rating in first:
            patients.append(patient)
            observers.append(0)
            said.append(rating - 1)
        for observer, rating in enumerate(others, start=1):
            patients.append(patient)
            observers.append(observer)
            said.append(rating - 1)
    return patients, observers, said
