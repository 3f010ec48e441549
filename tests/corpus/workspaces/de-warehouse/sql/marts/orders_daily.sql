-- notes: 0
insert into marts.orders_daily (order_date, orders, revenue_cents)
select updated_at::date, count(*), sum(total_cents)
from staging.orders
where updated_at >= current_date - interval '{{ params.lookback_days }} days'
group by 1
on conflict (order_date) do update
set orders = excluded.orders, revenue_cents = excluded.revenue_cents;
