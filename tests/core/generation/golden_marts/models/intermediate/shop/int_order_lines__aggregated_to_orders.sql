with

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

final as (

    select
        order_id,
        count(*) as order_line_count,
        sum(quantity) as total_order_line_quantity

    from order_lines
    where order_id is not null
    group by 1

)

select * from final
