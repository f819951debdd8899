"""The file of issue 13's report: imports at the top and the stub `def average_total(orders):`
at line 29, with the question that was asked about it."""

QUESTION = "Write the body of average_total for this file"
SAMPLE = '''"""Orders: reading them from a CSV export and summing them up."""

import csv
import statistics
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Order:
    customer: str
    total: float
    paid: bool


def load_orders(path: Path) -> list[Order]:
    """Read the orders from a CSV file with customer, total and paid columns."""
    with path.open(newline="") as handle:
        rows = csv.DictReader(handle)
        return [Order(row["customer"], float(row["total"]), row["paid"] == "yes") for row in rows]


def paid_orders(orders: list[Order]) -> list[Order]:
    """The orders that were paid."""
    return [order for order in orders if order.paid]


# The mean total of the paid orders; 0.0 when there are none.
def average_total(orders):
    pass


def main() -> None:
    orders = load_orders(Path("orders.csv"))
    print(f"{len(orders)} orders, average {average_total(orders):.2f}")


if __name__ == "__main__":
    main()
'''
STUB_LINE = 29
