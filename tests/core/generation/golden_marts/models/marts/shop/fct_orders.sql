with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_lines_per_order as (

    select * from {{ ref('int_order_lines__aggregated_to_orders') }}

),

payments_per_order as (

    select * from {{ ref('int_payments__aggregated_to_orders') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.billing_address_id,
        orders.status,
        orders.ordered_at,
        orders.shipping_fee,
        coalesce(order_lines_per_order.order_line_count, 0) as order_line_count,
        coalesce(order_lines_per_order.total_order_line_quantity, 0) as total_order_line_quantity,
        coalesce(payments_per_order.payment_count, 0) as payment_count,
        coalesce(payments_per_order.total_payment_amount, 0) as total_payment_amount

    from orders

    left join order_lines_per_order
        on orders.order_id = order_lines_per_order.order_id

    left join payments_per_order
        on orders.order_id = payments_per_order.order_id

)

select * from final
