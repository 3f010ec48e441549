with source as (
    select * from {{ source('storefront', 'orders') }}
)
select
    order_id::varchar        as order_id,
    customer_id,
    placed_at,
    status,
    amount_cents,
    currency,
    payment_method,
    psp_reference,
    nullif(coupon_code, '')  as coupon_code
from source
where status <> 'test'
