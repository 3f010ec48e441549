-- Logo churn by signup cohort: a customer churns in the first month
-- without a paid order after at least one paid month.
with paid_months as (
    select customer_id, date_trunc('month', placed_at) as month
    from analytics.fct_orders
    where status = 'paid'
    group by 1, 2
),
cohorts as (
    select customer_id, date_trunc('month', created_at) as cohort
    from analytics.dim_customers
    where email not like '%@example.com'          -- internal test accounts
),
activity as (
    select c.cohort, p.month, count(distinct p.customer_id) as active
    from cohorts c
    join paid_months p using (customer_id)
    group by 1, 2
)
select
    cohort,
    month,
    active,
    first_value(active) over (partition by cohort order by month) as cohort_size,
    round(100.0 * active / first_value(active) over (partition by cohort order by month), 1) as retained_pct
from activity
order by cohort, month;
