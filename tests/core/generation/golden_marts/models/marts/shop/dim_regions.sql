with

regions as (

    select * from {{ ref('stg_shop__regions') }}

),

final as (

    select
        region_id,
        name

    from regions

)

select * from final
