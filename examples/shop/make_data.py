"""Build the example shop warehouse: a DuckDB file whose schema `raw` holds customers, products,
orders, order lines and payments, with keys, comments and a few realistic imperfections.

Deterministic (fixed seed, no clock), standard library + duckdb only. The file is written to a
temporary path next to the target and then moved into place, so a reader never sees half a file.

    python examples/shop/make_data.py [--output PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import duckdb

SEED = 20241126
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "shop.duckdb"
N_CUSTOMERS = 500
N_PRODUCTS = 60
N_ORDERS = 2000
EPOCH = datetime(2023, 1, 1, 8, 0, 0)  # the shop opened; every timestamp is after it
HORIZON_DAYS = 1000  # ... and within this many days of it

DDL = [
    "create schema raw",
    """create table raw.customers (
        id integer primary key,
        first_name varchar not null,
        last_name varchar not null,
        email varchar,
        country_code varchar(2) not null,
        birth_date date,
        is_active boolean not null,
        created timestamp not null
    )""",
    """create table raw.products (
        id integer primary key,
        sku varchar(12) not null unique,
        name varchar not null,
        category varchar not null,
        price decimal(10, 2) not null,
        active boolean not null,
        created_at timestamp not null
    )""",
    """create table raw.orders (
        id integer primary key,
        customer_id integer not null references raw.customers (id),
        status varchar(10) not null,
        ordered_at timestamp not null,
        shipped_date date,
        shipping_fee decimal(6, 2) not null
    )""",
    """create table raw.order_lines (
        id integer primary key,
        order_id integer not null references raw.orders (id),
        product_id integer not null references raw.products (id),
        quantity integer not null,
        unit_price decimal(10, 2) not null,
        discount_pct decimal(4, 1)
    )""",
    """create table raw.payments (
        id integer primary key,
        order_id integer not null references raw.orders (id),
        method varchar not null,
        amount decimal(10, 2) not null,
        is_refunded boolean not null,
        paid_at timestamp not null
    )""",
]

COMMENTS = [
    "comment on table raw.customers is 'People who created an account in the shop.'",
    "comment on column raw.customers.email is 'Contact e-mail address; missing for guest sign-ups.'",
    "comment on column raw.customers.is_active is 'False once the customer closed the account.'",
    "comment on table raw.orders is 'One row per checkout, in any status.'",
    "comment on column raw.orders.status is 'placed, shipped, completed, returned or cancelled.'",
    "comment on table raw.payments is 'Money received for an order; an order may be split.'",
    "comment on column raw.payments.amount is 'Amount in EUR, including shipping.'",
    "comment on column raw.payments.is_refunded is 'True when the payment was paid back.'",
    "comment on column raw.order_lines.unit_price is 'Product price at the time of the order.'",
]

FIRST_NAMES = (
    "Ada Alan Amara Ben Bo Carla Chen Dara Elif Emil Farah Femi Grace Hana Ines Ivan Jonas Kai "
    "Lea Liam Maya Mateo Nia Noor Omar Priya Rosa Sam Sofia Tariq Uma Yara Zoe"
).split()
LAST_NAMES = (
    "Adams Berg Costa Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Larsen Moreau "
    "Nakamura Okafor Petrov Quinn Rossi Schmidt Tanaka Varga Weber Yilmaz Zhang"
).split()
COUNTRIES = ("DE", "FR", "NL", "BE", "ES", "IT", "SE", "PL", "GB", "US")
CATEGORIES = {
    "Coffee": ("Espresso Beans", "Filter Roast", "Decaf Blend", "Single Origin", "Cold Brew Pack"),
    "Tea": ("Green Tea", "Earl Grey", "Rooibos", "Chai Mix", "Mint Infusion"),
    "Equipment": ("Grinder", "Pour-over Kettle", "French Press", "Scale", "Milk Jug"),
    "Cups": ("Ceramic Mug", "Travel Cup", "Glass Cup", "Espresso Cup"),
}
ORDER_STATUSES = ("placed", "shipped", "completed", "returned", "cancelled")
STATUS_WEIGHTS = (8, 12, 68, 5, 7)
METHODS = ("card", "paypal", "bank_transfer")
SIZES = ("", " Large", " Gift Box", " Refill")
DISCOUNTS = (Decimal("10.0"), Decimal("25.0"))
GIFT_CARD = Decimal("10.00")
CENT = Decimal("0.01")


# Rows are NamedTuples rather than dataclasses: duckdb takes them as parameters as they are.
class Customer(NamedTuple):
    id: int
    first_name: str
    last_name: str
    email: str | None
    country_code: str
    birth_date: date | None
    is_active: bool
    created: datetime


class Product(NamedTuple):
    id: int
    sku: str
    name: str
    category: str
    price: Decimal
    active: bool
    created_at: datetime


class Order(NamedTuple):
    id: int
    customer_id: int
    status: str
    ordered_at: datetime
    shipped_date: date | None
    shipping_fee: Decimal


class OrderLine(NamedTuple):
    id: int
    order_id: int
    product_id: int
    quantity: int
    unit_price: Decimal
    discount_pct: Decimal | None


class Payment(NamedTuple):
    id: int
    order_id: int
    method: str
    amount: Decimal
    is_refunded: bool
    paid_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ShopData:
    """Rows for every table of schema `raw`."""

    customers: list[Customer]
    products: list[Product]
    orders: list[Order]
    order_lines: list[OrderLine]
    payments: list[Payment]

    def tables(self) -> list[tuple[str, Sequence[tuple[object, ...]]]]:
        """(table name, rows) pairs in an order that satisfies the foreign keys."""
        return [
            ("customers", self.customers),
            ("products", self.products),
            ("orders", self.orders),
            ("order_lines", self.order_lines),
            ("payments", self.payments),
        ]


def _moment(rng: random.Random, after: datetime = EPOCH) -> datetime:
    """A timestamp to the second, between `after` and the horizon."""
    end = EPOCH + timedelta(days=HORIZON_DAYS)
    return after + timedelta(seconds=rng.randrange(max(1, int((end - after).total_seconds()))))


def make_customers(rng: random.Random) -> list[Customer]:
    """Customers; about 6 % have no e-mail, 15 % no birth date, 8 % closed their account."""
    rows: list[Customer] = []
    for cid in range(1, N_CUSTOMERS + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = None if rng.random() < 0.06 else f"{first}.{last}{cid}@example.com".lower()
        birth = None if rng.random() < 0.15 else date(1950, 1, 1) + timedelta(rng.randrange(20000))
        created = _moment(rng) - timedelta(days=200)  # some signed up before the first sale
        country, active = rng.choice(COUNTRIES), rng.random() > 0.08
        rows.append(Customer(cid, first, last, email, country, birth, active, created))
    return rows


def make_products(rng: random.Random) -> list[Product]:
    """Products in four categories and a few sizes; about 10 % are no longer sold."""
    kinds = [(cat, name) for cat, names in CATEGORIES.items() for name in names]
    rows: list[Product] = []
    for pid in range(1, N_PRODUCTS + 1):
        category, base = kinds[(pid - 1) % len(kinds)]
        name = f"{base}{SIZES[(pid - 1) // len(kinds) % len(SIZES)]}"
        price = Decimal(rng.randrange(299, 14999)) / 100
        created = EPOCH - timedelta(days=rng.randrange(1, 120), seconds=rng.randrange(86400))
        sku = f"{category[:3].upper()}-{pid:04d}"
        rows.append(Product(pid, sku, name, category, price, rng.random() > 0.1, created))
    return rows


def make_orders(rng: random.Random, customers: Sequence[Customer]) -> list[Order]:
    """Orders placed by customers after they signed up; shipped ones carry a ship date."""
    rows: list[Order] = []
    for oid in range(1, N_ORDERS + 1):
        customer = rng.choice(customers)
        ordered_at = _moment(rng, after=max(customer.created, EPOCH))
        status = rng.choices(ORDER_STATUSES, STATUS_WEIGHTS)[0]
        shipped = None
        if status in ("shipped", "completed", "returned"):
            shipped = ordered_at.date() + timedelta(days=rng.randrange(1, 6))
        fee = Decimal("0.00") if rng.random() < 0.4 else Decimal("4.95")
        rows.append(Order(oid, customer.id, status, ordered_at, shipped, fee))
    return rows


def make_order_lines(
    rng: random.Random, orders: Sequence[Order], products: Sequence[Product]
) -> list[OrderLine]:
    """One to four lines per order (about 2.5 on average), some with a discount."""
    rows: list[OrderLine] = []
    for order in orders:
        for product in rng.sample(products, rng.choice((1, 2, 2, 3, 3, 4))):
            discount = rng.choice(DISCOUNTS) if rng.random() < 0.1 else None
            quantity = rng.randint(1, 3)
            rows.append(OrderLine(len(rows) + 1, order.id, product.id, quantity, product.price, discount))
    return rows


def order_totals(order_lines: Iterable[OrderLine]) -> dict[int, Decimal]:
    """What each order's lines cost after discounts, by order id."""
    totals: dict[int, Decimal] = {}
    for line in order_lines:
        factor = 1 - (line.discount_pct or Decimal(0)) / 100
        cost = line.unit_price * line.quantity * factor
        totals[line.order_id] = totals.get(line.order_id, Decimal(0)) + cost
    return totals


def make_payments(rng: random.Random, orders: Sequence[Order], totals: dict[int, Decimal]) -> list[Payment]:
    """Payments: none for most cancelled orders, a gift-card split for some, refunds for returns."""
    rows: list[Payment] = []
    for order in orders:
        if order.status == "cancelled" and rng.random() < 0.9:
            continue
        due = (totals[order.id] + order.shipping_fee).quantize(CENT)
        refunded = order.status in ("returned", "cancelled")
        parts = [("gift_card", GIFT_CARD), (rng.choice(METHODS), due - GIFT_CARD)]
        if due <= 2 * GIFT_CARD or rng.random() >= 0.08:
            parts = [(rng.choice(METHODS), due)]
        for method, amount in parts:
            paid_at = order.ordered_at + timedelta(seconds=rng.randrange(5, 3600))
            rows.append(Payment(len(rows) + 1, order.id, method, amount, refunded, paid_at))
    return rows


def make_shop(seed: int = SEED) -> ShopData:
    """All rows of the shop, the same for the same seed."""
    rng = random.Random(seed)
    customers = make_customers(rng)
    products = make_products(rng)
    orders = make_orders(rng, customers)
    lines = make_order_lines(rng, orders, products)
    payments = make_payments(rng, orders, order_totals(lines))
    return ShopData(
        customers=customers, products=products, orders=orders, order_lines=lines, payments=payments
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    """Insert rows in chunks of multi-row VALUES (executemany is ~10x slower in duckdb)."""
    width = len(rows[0])
    placeholders = "(" + ", ".join(["?"] * width) + ")"
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        sql = f"insert into raw.{table} values " + ", ".join([placeholders] * len(chunk))
        con.execute(sql, [value for row in chunk for value in row])


def write_database(path: Path, data: ShopData) -> None:
    """Create a new DuckDB file at `path` (which must not exist) holding the shop."""
    con = duckdb.connect(str(path))
    try:
        for statement in DDL:
            con.execute(statement)
        for table, rows in data.tables():
            _insert(con, table, rows)
        for statement in COMMENTS:
            con.execute(statement)
        con.execute("checkpoint")
    finally:
        con.close()


def build(output: Path, seed: int = SEED) -> ShopData:
    """Write the shop to `output` atomically, replacing any earlier file; return what was written."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    data = make_shop(seed)
    # Same directory as the target, so the final rename stays on one file system.
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.", dir=output.parent) as tmp_dir:
        tmp = Path(tmp_dir) / output.name
        write_database(tmp, data)
        # A write-ahead log left by an earlier writer that crashed belongs to the old file:
        # replayed against the new one it would corrupt it.
        Path(f"{output}.wal").unlink(missing_ok=True)
        os.replace(tmp, output)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the shop warehouse and say what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="DuckDB file to write")
    parser.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        data = build(args.output, args.seed)
    except (OSError, duckdb.Error) as exc:
        print(f"make_data: cannot write {args.output}: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{len(rows)} {table}" for table, rows in data.tables())
    print(f"wrote {args.output} (duckdb {duckdb.__version__}): schema raw with {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
