with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        id as order_id,
        customer_id,
        status,
        amount,
        ordered_at

    from source

)

select * from renamed
