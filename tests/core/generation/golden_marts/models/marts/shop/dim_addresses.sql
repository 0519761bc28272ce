with

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
        addresses.address_id,
        addresses.street,
        addresses.city,
        addresses.country_id,
        countries.name as country_name,
        regions.name as region_name

    from addresses

    left join countries
        on addresses.country_id = countries.country_id

    left join regions
        on countries.region_id = regions.region_id

)

select * from final
