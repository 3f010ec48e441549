{{ config(materialized='incremental', unique_key='order_id') }}

select
    o.order_id,
    o.customer_id,
    o.placed_at,
    o.status,
    o.amount_cents,
    o.currency,
    o.payment_method,
    o.coupon_code
from {{ ref('stg_orders') }} o
{% if is_incremental() %}
where o.placed_at > (select max(placed_at) from {{ this }})
{% endif %}
