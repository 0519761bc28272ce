"""A B2B SaaS and logistics warehouse in PostgreSQL: 18 related tables in schema `saas`, about 20,000 rows.

Written to hold Cartridge to the quality bar on something richer than the shop: declared primary
and foreign keys on most tables, five foreign keys nobody declared (relationship inference has to
find them), a table whose key is only a unique NOT NULL `id` (no constraint), a composite-key
bridge (product_tags), three enum types, `CHECK (... IN ...)` lists, comments, nullable columns
that do hold nulls, timestamps, dates and numeric measures.

Every value is deterministic arithmetic over `generate_series` (no `random()`), and every row
respects every relationship, declared or not, so each test Cartridge proposes from it can pass.
The undeclared foreign keys are:

    invoices.subscription_id      -> subscriptions.id
    invoice_lines.product_id      -> products.id      (null on service lines)
    shipments.warehouse_id        -> warehouses.id
    ticket_events.ticket_id       -> tickets.id
    ticket_events.user_id         -> users.id         (null on system events)
"""

from __future__ import annotations

SCHEMA = "saas"

# (child table, child column, parent table, parent column): relationships only the data tells.
UNDECLARED_FOREIGN_KEYS = (
    ("invoices", "subscription_id", "subscriptions", "id"),
    ("invoice_lines", "product_id", "products", "id"),
    ("shipments", "warehouse_id", "warehouses", "id"),
    ("ticket_events", "ticket_id", "tickets", "id"),
    ("ticket_events", "user_id", "users", "id"),
)

TABLES = (
    "countries",
    "addresses",
    "plans",
    "accounts",
    "users",
    "subscriptions",
    "products",
    "tags",
    "product_tags",
    "warehouses",
    "carriers",
    "invoices",
    "invoice_lines",
    "payments",
    "shipments",
    "shipment_items",
    "tickets",
    "ticket_events",
)

_TYPES = [
    f"create schema {SCHEMA}",
    f"create type {SCHEMA}.plan_tier as enum ('free', 'starter', 'pro', 'enterprise')",
    f"create type {SCHEMA}.payment_method as enum ('card', 'bank_transfer', 'paypal')",
    f"create type {SCHEMA}.ticket_priority as enum ('low', 'normal', 'high', 'urgent')",
]

_REFERENCE = [
    f"""create table {SCHEMA}.countries (
        code char(2) primary key,
        name text not null,
        region text not null check (region in ('EMEA', 'AMER', 'APAC'))
    )""",
    f"comment on table {SCHEMA}.countries is 'ISO 3166 countries the company ships to.'",
    f"""insert into {SCHEMA}.countries values
        ('DE', 'Germany', 'EMEA'), ('FR', 'France', 'EMEA'), ('NL', 'Netherlands', 'EMEA'),
        ('GB', 'United Kingdom', 'EMEA'), ('ES', 'Spain', 'EMEA'), ('US', 'United States', 'AMER'),
        ('CA', 'Canada', 'AMER'), ('BR', 'Brazil', 'AMER'), ('MX', 'Mexico', 'AMER'),
        ('JP', 'Japan', 'APAC'), ('AU', 'Australia', 'APAC'), ('SG', 'Singapore', 'APAC')""",
    f"""create table {SCHEMA}.addresses (
        id integer primary key,
        line1 text not null,
        city text not null,
        postal_code text,
        country_code char(2) not null references {SCHEMA}.countries(code),
        created_at timestamp not null
    )""",
    f"""insert into {SCHEMA}.addresses
        select g,
               (g * 7 % 300 + 1) || ' Market Street',
               (array['Berlin', 'Paris', 'Utrecht', 'Leeds', 'Madrid', 'Austin',
                      'Toronto', 'Recife', 'Puebla', 'Osaka', 'Perth', 'Singapore'])[1 + g % 12],
               case when g % 9 = 0 then null else lpad((g * 37 % 99999)::text, 5, '0') end,
               (array['DE', 'FR', 'NL', 'GB', 'ES', 'US', 'CA', 'BR', 'MX', 'JP', 'AU', 'SG'])[1 + g % 12],
               timestamp '2021-01-01 08:00' + g * interval '19 hours'
        from generate_series(1, 400) as g""",
    f"""create table {SCHEMA}.plans (
        id integer primary key,
        name text not null unique,
        tier {SCHEMA}.plan_tier not null,
        monthly_price numeric(10, 2) not null,
        seat_limit integer
    )""",
    f"comment on column {SCHEMA}.plans.seat_limit is 'Most seats the plan allows; empty for no limit.'",
    f"""insert into {SCHEMA}.plans values
        (1, 'Free', 'free', 0.00, 3), (2, 'Starter', 'starter', 49.00, 10),
        (3, 'Pro', 'pro', 199.00, 50), (4, 'Enterprise', 'enterprise', 999.00, null)""",
    f"""create table {SCHEMA}.products (
        id integer primary key,
        sku text not null unique,
        name text not null,
        category text not null,
        list_price numeric(10, 2) not null,
        weight_kg numeric(8, 3),
        is_active boolean not null,
        created_at timestamp not null
    )""",
    f"comment on table {SCHEMA}.products is 'Hardware the company sells and ships with its software.'",
    f"""insert into {SCHEMA}.products
        select g,
               'SKU-' || lpad(g::text, 4, '0'),
               (array['Scanner', 'Label Printer', 'Tablet', 'Dock', 'Router'])[1 + g % 5] || ' ' || g,
               (array['scanning', 'printing', 'mobile', 'networking'])[1 + g % 4],
               round(19.90 + (g * 13 % 400)::numeric, 2),
               case when g % 10 = 0 then null else round((g * 0.137 + 0.2)::numeric, 3) end,
               g % 11 <> 0,
               timestamp '2020-06-01 09:00' + g * interval '3 days'
        from generate_series(1, 80) as g""",
    f"""create table {SCHEMA}.tags (
        id integer primary key,
        label text not null unique
    )""",
    f"""insert into {SCHEMA}.tags
        select g, (array['rugged', 'wireless', 'bluetooth', 'refurbished', 'bestseller',
                         'bundle', 'eco', 'new', 'clearance', 'pro'])[g]
        from generate_series(1, 10) as g""",
    f"""create table {SCHEMA}.product_tags (
        product_id integer not null references {SCHEMA}.products(id),
        tag_id integer not null references {SCHEMA}.tags(id),
        tagged_at timestamp not null,
        primary key (product_id, tag_id)
    )""",
    f"comment on table {SCHEMA}.product_tags is 'Which tags each product carries (many to many).'",
    f"""insert into {SCHEMA}.product_tags
        select p, 1 + (p + 3 * k) % 10, timestamp '2022-01-01' + (p * 3 + k) * interval '1 day'
        from generate_series(1, 80) as p, generate_series(0, 2) as k""",
    f"""create table {SCHEMA}.warehouses (
        id integer primary key,
        code text not null unique,
        name text not null,
        address_id integer not null references {SCHEMA}.addresses(id),
        opened_on date not null
    )""",
    f"""insert into {SCHEMA}.warehouses values
        (1, 'BER1', 'Berlin hub', 1, '2019-03-01'), (2, 'AMS1', 'Amsterdam hub', 2, '2019-09-15'),
        (3, 'AUS1', 'Austin hub', 5, '2020-02-01'), (4, 'TOR1', 'Toronto hub', 6, '2021-05-10'),
        (5, 'SIN1', 'Singapore hub', 11, '2022-11-20')""",
    f"""create table {SCHEMA}.carriers (
        id integer primary key,
        name text not null,
        scac_code text not null unique
    )""",
    f"""insert into {SCHEMA}.carriers values
        (1, 'DHL', 'DHLC'), (2, 'UPS', 'UPSN'), (3, 'FedEx', 'FDEG'), (4, 'PostNL', 'PNLX')""",
]

_CUSTOMERS = [
    f"""create table {SCHEMA}.accounts (
        id integer primary key,
        name text not null,
        status text not null check (status in ('trial', 'active', 'churned')),
        industry text,
        employee_count integer not null,
        billing_address_id integer references {SCHEMA}.addresses(id),
        created_at timestamp not null
    )""",
    f"comment on table {SCHEMA}.accounts is 'Customer companies; one account per signed contract.'",
    f"comment on column {SCHEMA}.accounts.industry is 'Industry the customer gave at sign-up, if any.'",
    f"""insert into {SCHEMA}.accounts
        select g,
               'Account ' || g,
               (array['trial', 'active', 'active', 'active', 'churned'])[1 + g % 5],
               case when g % 7 = 0 then null
                    else (array['retail', 'logistics', 'healthcare', 'manufacturing'])[1 + g % 4] end,
               10 + g * 17 % 990,
               case when g % 17 = 0 then null else 12 + g end,
               timestamp '2021-02-01 10:00' + g * interval '2 days 3 hours'
        from generate_series(1, 200) as g""",
    f"""create table {SCHEMA}.users (
        id integer primary key,
        account_id integer not null references {SCHEMA}.accounts(id),
        email text not null unique,
        full_name text not null,
        role text not null check (role in ('admin', 'member', 'viewer')),
        last_login_at timestamp,
        created_at timestamp not null
    )""",
    f"comment on column {SCHEMA}.users.last_login_at is 'Empty for users who never signed in.'",
    f"""insert into {SCHEMA}.users
        select g,
               1 + (g - 1) % 200,
               'user' || g || '@example.com',
               'User ' || g,
               case when g <= 200 then 'admin' when g % 3 = 0 then 'viewer' else 'member' end,
               case when g % 6 = 0 then null
                    else timestamp '2024-01-01' + g * interval '5 hours 7 minutes' end,
               timestamp '2021-03-01 09:00' + g * interval '13 hours'
        from generate_series(1, 1000) as g""",
    f"""create table {SCHEMA}.subscriptions (
        id integer primary key,
        account_id integer not null references {SCHEMA}.accounts(id),
        plan_id integer not null references {SCHEMA}.plans(id),
        seats integer not null,
        started_at timestamp not null,
        ended_at timestamp
    )""",
    f"""insert into {SCHEMA}.subscriptions
        select g,
               1 + (g - 1) % 200,
               1 + g % 4,
               1 + g * 7 % 40,
               timestamp '2022-01-01' + g * interval '1 day 4 hours',
               case when g > 200 then null
                    else timestamp '2022-01-01' + g * interval '1 day 4 hours' + interval '180 days' end
        from generate_series(1, 300) as g""",
]

# The account of invoice g is the account of its subscription: 1 + (subscription - 1) % 200.
_SUBSCRIPTION_OF_INVOICE = "(1 + (g - 1) % 300)"

_BILLING = [
    f"""create table {SCHEMA}.invoices (
        id integer primary key,
        account_id integer not null references {SCHEMA}.accounts(id),
        subscription_id integer not null,
        status text not null check (status in ('draft', 'open', 'paid', 'void')),
        currency char(3) not null,
        issued_at timestamp not null,
        due_date date not null,
        total_amount numeric(12, 2) not null
    )""",
    f"comment on column {SCHEMA}.invoices.total_amount is 'Invoice total in its currency, tax included.'",
    f"""insert into {SCHEMA}.invoices
        select g,
               1 + ({_SUBSCRIPTION_OF_INVOICE} - 1) % 200,
               {_SUBSCRIPTION_OF_INVOICE},
               (array['draft', 'open', 'paid', 'paid', 'paid', 'void'])[1 + g % 6],
               (array['EUR', 'USD', 'GBP'])[1 + g % 3],
               timestamp '2023-01-01 06:00' + g * interval '4 hours 11 minutes',
               date '2023-01-31' + g / 6,
               round((49 + g * 31 % 2000)::numeric * 1.19, 2)
        from generate_series(1, 2000) as g""",
    f"""create table {SCHEMA}.invoice_lines (
        id integer primary key,
        invoice_id integer not null references {SCHEMA}.invoices(id),
        product_id integer,
        description text not null,
        quantity integer not null,
        unit_price numeric(10, 2) not null,
        line_amount numeric(12, 2) not null
    )""",
    f"comment on column {SCHEMA}.invoice_lines.product_id is 'Empty on service and licence lines.'",
    f"""insert into {SCHEMA}.invoice_lines
        select g,
               1 + (g - 1) % 2000,
               case when g % 25 = 0 then null else 1 + g * 7 % 80 end,
               case when g % 25 = 0 then 'Licence fee' else 'Hardware item' end,
               1 + g % 5,
               round((9.5 + g * 3 % 120)::numeric, 2),
               round((1 + g % 5) * (9.5 + g * 3 % 120)::numeric, 2)
        from generate_series(1, 5000) as g""",
    f"""create table {SCHEMA}.payments (
        id integer primary key,
        invoice_id integer not null references {SCHEMA}.invoices(id),
        method {SCHEMA}.payment_method not null,
        amount numeric(12, 2) not null,
        is_refunded boolean not null,
        paid_at timestamp not null
    )""",
    f"""insert into {SCHEMA}.payments
        select g,
               1 + (g * 3 - 1) % 2000,
               (array['card', 'bank_transfer', 'paypal']::{SCHEMA}.payment_method[])[1 + g % 3],
               round((20 + g * 29 % 1500)::numeric, 2),
               g % 40 = 0,
               timestamp '2023-01-03 12:00' + g * interval '4 hours 40 minutes'
        from generate_series(1, 1800) as g""",
]

_LOGISTICS = [
    f"""create table {SCHEMA}.shipments (
        id integer primary key,
        account_id integer not null references {SCHEMA}.accounts(id),
        warehouse_id integer not null,
        carrier_id integer references {SCHEMA}.carriers(id),
        destination_address_id integer not null references {SCHEMA}.addresses(id),
        status text not null check (status in ('pending', 'in_transit', 'delivered', 'returned')),
        shipped_at timestamp not null,
        delivered_at timestamp,
        shipping_cost numeric(10, 2) not null
    )""",
    f"comment on table {SCHEMA}.shipments is 'Parcels sent from a warehouse to a customer address.'",
    f"""insert into {SCHEMA}.shipments
        select g,
               1 + (g - 1) % 200,
               1 + g % 5,
               case when g % 20 = 0 then null else 1 + g % 4 end,
               1 + g * 11 % 400,
               (array['pending', 'in_transit', 'delivered', 'delivered', 'delivered', 'returned'])[1 + g % 6],
               timestamp '2023-02-01 07:30' + g * interval '5 hours 23 minutes',
               case when g % 6 in (2, 3, 4)
                    then timestamp '2023-02-03 15:00' + g * interval '5 hours 23 minutes' end,
               round((4.9 + g * 7 % 60)::numeric, 2)
        from generate_series(1, 1500) as g""",
    f"""create table {SCHEMA}.shipment_items (
        id integer primary key,
        shipment_id integer not null references {SCHEMA}.shipments(id),
        product_id integer not null references {SCHEMA}.products(id),
        quantity integer not null
    )""",
    f"""insert into {SCHEMA}.shipment_items
        select g, 1 + (g - 1) % 1500, 1 + g * 13 % 80, 1 + g % 4
        from generate_series(1, 3500) as g""",
]

_SUPPORT = [
    f"""create table {SCHEMA}.tickets (
        id integer primary key,
        account_id integer not null references {SCHEMA}.accounts(id),
        opened_by_user_id integer not null references {SCHEMA}.users(id),
        priority {SCHEMA}.ticket_priority not null,
        subject text not null,
        opened_at timestamp not null,
        closed_at timestamp
    )""",
    f"comment on table {SCHEMA}.tickets is 'Support requests customers open from the app.'",
    # The user who opens a ticket belongs to its account: account a's users are a, a + 200, ...
    f"""insert into {SCHEMA}.tickets
        select g,
               1 + (g - 1) % 200,
               1 + (g - 1) % 200 + 200 * (g % 5),
               (array['low', 'normal', 'normal', 'high', 'urgent']::{SCHEMA}.ticket_priority[])[1 + g % 5],
               'Ticket ' || g,
               timestamp '2023-03-01 08:00' + g * interval '11 hours 5 minutes',
               case when g % 8 = 0 then null
                    else timestamp '2023-03-02 10:00' + g * interval '11 hours 5 minutes' end
        from generate_series(1, 600) as g""",
    # No primary key declared: `id` is unique and NOT NULL in the data only.
    f"""create table {SCHEMA}.ticket_events (
        id bigint not null,
        ticket_id integer not null,
        user_id integer,
        event_type text not null,
        body text,
        happened_at timestamp not null
    )""",
    f"comment on column {SCHEMA}.ticket_events.user_id is 'Who acted; empty for events the system made.'",
    f"""insert into {SCHEMA}.ticket_events
        select g,
               1 + (g - 1) % 600,
               case when g % 4 = 0 then null else 1 + (g * 7) % 1000 end,
               (array['opened', 'commented', 'assigned', 'closed'])[1 + (g - 1) / 600],
               case when g % 3 = 0 then null else 'Note ' || g end,
               timestamp '2023-03-01 09:00' + g * interval '2 hours 47 minutes'
        from generate_series(1, 2400) as g""",
]

# Planner statistics as autovacuum would leave them in a live warehouse.
_ANALYZE = [f"analyze {SCHEMA}.{table}" for table in TABLES]

WAREHOUSE_DDL: list[str] = [*_TYPES, *_REFERENCE, *_CUSTOMERS, *_BILLING, *_LOGISTICS, *_SUPPORT, *_ANALYZE]
