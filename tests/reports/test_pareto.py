import math

from reports.pareto import pareto_front


def test_front_keeps_non_dominated_points_sorted_by_speedup():
    points = [(1.0, 0.0), (2.1, 0.0), (6.9, 71.3), (6.8, 9.95), (6.6, 0.09), (4.5, 0.0), (6.4, 0.09)]
    # (1.0, 0.0) loses to (2.1, 0.0); (6.4, 0.09) loses to (6.6, 0.09); 2.1 and 4.5 both at zero loss: 4.5 wins.
    assert pareto_front(points) == [5, 4, 3, 2]


def test_front_ignores_nan_and_keeps_duplicates():
    points = [(2.0, 1.0), (math.nan, 0.0), (2.0, 1.0), (1.0, math.nan)]
    assert pareto_front(points) == [0, 2]
    assert pareto_front([]) == []


def test_single_point_is_its_own_front():
    assert pareto_front([(3.0, -0.5)]) == [0]
