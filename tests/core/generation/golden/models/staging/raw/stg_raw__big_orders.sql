with

source as (

    select * from {{ source('raw', 'big_orders') }}

),

renamed as (

    select
        id as big_order_id,
        amount

    from source

)

select * from renamed
