with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

group_rows as (

    select * from {{ ref('stg_shop__group') }}

),

addresses as (

    select * from {{ ref('stg_shop__addresses') }}

),

countries as (

    select * from {{ ref('stg_shop__countries') }}

),

regions as (

    select * from {{ ref('stg_shop__regions') }}

),

final as (

    select
        customers.customer_id,
        customers.name,
        customers.email,
        customers.group_id,
        customers.home_address_id,
        customers.created_at,
        group_rows.name as group_name,
        group_rows.is_vip as is_group_vip,
        home_address.street as home_address_street,
        home_address.city as home_address_city,
        home_address_country.name as home_address_country_name,
        home_address_region.name as home_address_region_name

    from customers

    left join group_rows
        on customers.group_id = group_rows.group_id

    left join addresses as home_address
        on customers.home_address_id = home_address.address_id

    left join countries as home_address_country
        on home_address.country_id = home_address_country.country_id

    left join regions as home_address_region
        on home_address_country.region_id = home_address_region.region_id

)

select * from final
