with

source as (

    select * from {{ source('sales_eu', 'order') }}

),

renamed as (

    select
        id as order_id,
        "user",
        "Select" as "select"

    from source

)

select * from renamed
