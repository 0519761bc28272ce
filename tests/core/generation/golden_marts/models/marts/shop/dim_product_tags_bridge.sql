with

product_tags as (

    select * from {{ ref('stg_shop__product_tags') }}

),

final as (

    select
        product_id,
        tag_id

    from product_tags

)

select * from final
