-- Failed logins per country and reason, last 30 days. Used to size the
-- lockout change (5 attempts) before it shipped.
select
    ip_country,
    payload:reason::string            as reason,
    count(*)                          as failures,
    count(distinct customer_id)       as customers
from analytics.stg_auth_events
where event_type = 'login_failed'
  and occurred_at >= dateadd(day, -30, current_timestamp)
group by 1, 2
order by failures desc;
