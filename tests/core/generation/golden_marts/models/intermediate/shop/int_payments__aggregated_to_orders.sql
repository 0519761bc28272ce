with

payments as (

    select * from {{ ref('stg_shop__payments') }}

),

final as (

    select
        order_id,
        count(*) as payment_count,
        sum(amount) as total_payment_amount

    from payments
    where order_id is not null
    group by 1

)

select * from final
