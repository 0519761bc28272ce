with

source as (

    select * from {{ source('raw', 'order_events') }}

),

renamed as (

    select
        order_id,
        "select",
        happened as happened_at

    from source

)

select * from renamed
