with

source as (

    select * from {{ source('sales_eu', 'accounts') }}

),

renamed as (

    select
        id as account_id,
        "ID" as account_id_2,
        created as created_at_2,
        created_at,
        "on",
        "2fa" as is_2fa,
        "Café" as cafe,
        "geo.lat" as geo_lat

    from source

)

select * from renamed
