with

payments as (

    select * from {{ ref('stg_shop__payments') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

final as (

    select
        payments.payment_id,
        payments.order_id,
        payments.amount,
        payments.paid_at,
        orders.customer_id,
        orders.billing_address_id

    from payments

    left join orders
        on payments.order_id = orders.order_id

)

select * from final
