import math

import pytest

from reports.tables import ResultRow, markdown_table, relative_loss


def test_seed_002_style_table_derives_loss_and_speedup():
    rows = [
        ResultRow("fp32 no optimization", 0.7699, 316.50),
        ResultRow("int8 full naive", 0.2207, 45.81, tuning_seconds=11.29, trials=1),
        ResultRow("int8 INC mse", 0.7692, 49.76, tuning_seconds=106.5, trials=4),
    ]
    table = markdown_table(rows).splitlines()
    assert table[0].startswith("| Optimization method | Top 1 accuracy")
    assert table[3] == "| int8 full naive | 0.2207 | 71.33 | 11.29 | 1 | 45.810 | 6.91 |"
    assert "| int8 INC mse | 0.7692 | 0.09 |" in table[4]


def test_baseline_by_name_and_lower_is_better_metrics():
    rows = [ResultRow("a", 2.0, 10.0, higher_is_better=False), ResultRow("fp32", 1.0, 20.0, higher_is_better=False)]
    assert "| a | 2.0000 | 100.00 | 0.00 | 0 | 10.000 | 2.00 |" in markdown_table(rows, baseline="fp32")
    assert math.isclose(relative_loss(1.0, 2.0, higher_is_better=False), 1.0)
    with pytest.raises(ValueError, match="not among the rows"):
        markdown_table(rows, baseline="fp33")
