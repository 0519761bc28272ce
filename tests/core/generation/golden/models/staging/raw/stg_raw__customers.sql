with

source as (

    select * from {{ source('raw', 'customers') }}

),

renamed as (

    select
        id as customer_id,
        "FirstName" as first_name,
        email,
        active as is_active,
        created as created_at,
        birth as birth_date

    from source

)

select * from renamed
