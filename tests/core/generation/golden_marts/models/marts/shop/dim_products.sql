with

products as (

    select * from {{ ref('stg_shop__products') }}

),

categories as (

    select * from {{ ref('stg_shop__categories') }}

),

final as (

    select
        products.product_id,
        products.name,
        products.category_id,
        products.price,
        categories.name as category_name

    from products

    left join categories
        on products.category_id = categories.category_id

)

select * from final
