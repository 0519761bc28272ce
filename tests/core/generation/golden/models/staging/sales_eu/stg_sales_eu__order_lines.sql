with

source as (

    select * from {{ source('sales_eu', 'order_lines') }}

),

renamed as (

    select
        order_id,
        line_no,
        "Unit Price" as unit_price,
        is_gift,
        shipped_on as shipped_date,
        updated_ts as updated_at

    from source

)

select * from renamed
