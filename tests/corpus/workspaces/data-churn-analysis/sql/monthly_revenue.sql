-- Net revenue per month and plan, in EUR, for the review deck.
-- Refunds and chargebacks are subtracted in the month they happen.
with orders as (
    select
        o.order_id,
        o.customer_id,
        date_trunc('month', o.placed_at) as month,
        o.status,
        o.amount_cents / 100.0 * fx.rate_to_eur as amount_eur
    from analytics.fct_orders o
    join analytics.dim_fx_rates fx
      on fx.currency = o.currency
     and fx.rate_date = o.placed_at::date
)
select
    month,
    c.plan,
    sum(case when status = 'paid' then amount_eur else 0 end)                          as gross_eur,
    sum(case when status in ('refunded', 'chargeback') then amount_eur else 0 end)     as refunds_eur,
    sum(case when status = 'paid' then amount_eur
             when status in ('refunded', 'chargeback') then -amount_eur else 0 end)   as net_eur,
    count(distinct orders.customer_id)                                                  as paying_customers
from orders
join analytics.dim_customers c using (customer_id)
where month >= dateadd(month, -12, current_date)
group by 1, 2
order by 1, 2;
