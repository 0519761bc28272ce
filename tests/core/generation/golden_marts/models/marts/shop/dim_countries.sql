with

countries as (

    select * from {{ ref('stg_shop__countries') }}

),

regions as (

    select * from {{ ref('stg_shop__regions') }}

),

final as (

    select
        countries.country_id,
        countries.name,
        countries.region_id,
        regions.name as region_name

    from countries

    left join regions
        on countries.region_id = regions.region_id

)

select * from final
