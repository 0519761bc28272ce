with

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

final as (

    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.product_id,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.discount_pct,
        orders.customer_id,
        orders.billing_address_id,
        orders.ordered_at

    from order_lines

    left join orders
        on order_lines.order_id = orders.order_id

)

select * from final
