with

tags as (

    select * from {{ ref('stg_shop__tags') }}

),

final as (

    select
        tag_id,
        label

    from tags

)

select * from final
