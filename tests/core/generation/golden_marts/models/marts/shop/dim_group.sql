with

group_rows as (

    select * from {{ ref('stg_shop__group') }}

),

final as (

    select
        group_id,
        name,
        is_vip

    from group_rows

)

select * from final
