with

categories as (

    select * from {{ ref('stg_shop__categories') }}

),

final as (

    select
        category_id,
        name,
        parent_id

    from categories

)

select * from final
