-- one row per person and reason they must not be e-mailed, with the event time that caused
-- it; nobody here reaches an audience or an export (audience_members)
with

customers as (

    select * from {{ ref('dim_customers') }}

),

email_blocks as (

    select * from {{ ref('int_people_email_suppressions_dated') }}

),

people as (

    select
        customers.person_id,
        customers.email,
        customers.email_consent_status,
        customers.email_consent_changed_at,
        customers.signup_at,
        customers.updated_at,
        email_blocks.last_unsubscribed_at,
        email_blocks.last_bounced_at,
        email_blocks.first_spam_complaint_at,
        coalesce(email_blocks.is_hard_bounced, false) as is_hard_bounced
    from customers
    left join email_blocks
        on customers.person_id = email_blocks.person_id

),

reasons as (

    select
        person_id,
        'opted_out' as suppression_reason,
        email_consent_changed_at as caused_at
    from people
    where email_consent_status = 'opted_out'

    union all

    -- an opt-in recorded after the unsubscribe lifts it
    select
        person_id,
        'unsubscribed' as suppression_reason,
        last_unsubscribed_at as caused_at
    from people
    where
        last_unsubscribed_at is not null
        and not (
            email_consent_status = 'opted_in'
            and coalesce(email_consent_changed_at > last_unsubscribed_at, false)
        )

    union all

    select
        person_id,
        'hard_bounced' as suppression_reason,
        last_bounced_at as caused_at
    from people
    where is_hard_bounced

    union all

    -- a complaint is final: ESPs never mail a complainer again
    select
        person_id,
        'spam_complaint' as suppression_reason,
        first_spam_complaint_at as caused_at
    from people
    where first_spam_complaint_at is not null

    union all

    select
        person_id,
        'no_email' as suppression_reason,
        updated_at as caused_at
    from people
    where email is null

    union all

    select
        person_id,
        'invalid_email' as suppression_reason,
        updated_at as caused_at
    from people
    where email is not null and not {{ regex_matches('email', "'^[^@ ]+@[^@ ]+[.][^@ .]+$'") }}

    {% if var('consent_policy') == 'opt_in' %}

        union all

        select
            person_id,
            'never_opted_in' as suppression_reason,
            signup_at as caused_at
        from people
        where email_consent_status = 'unknown'

    {% endif %}

),

final as (

    select
        -- ids
        person_id,

        -- strings
        suppression_reason,
        '{{ var("consent_policy") }}' as consent_policy,

        -- timestamps
        caused_at,
        {{ as_of() }} as as_of
    from reasons

)

select * from final
