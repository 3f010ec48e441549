-- One row per customer; personal data is hashed or masked here so that
-- nothing downstream of staging sees raw e-mail addresses or IBANs.
with source as (
    select * from {{ source('storefront', 'customers') }}
)
select
    customer_id,
    external_id::varchar                                   as external_id,
    email_sha256,
    regexp_replace(phone, '[^0-9+]', '')                   as phone_e164,
    country,
    case when iban is not null
         then left(iban, 4) || repeat('*', length(iban) - 8) || right(iban, 4)
    end                                                    as iban_masked,
    plan,
    signup_source,
    marketing_opt_in,
    created_at
from source
