-- one row per source customer_id: the person it belongs to and the rule that merged it
with

customers as (

    select * from {{ ref('stg_raw__customers') }}

),

email_counted as (

    select
        customer_id,
        email,
        lower(trim(coalesce(first_name, '') || ' ' || coalesce(last_name, ''))) as full_name,
        lower(trim(city)) as city,
        count(*) over (partition by email) as email_records,
        {{ email_is_placeholder('email') }} as is_placeholder_email
    from customers

),

by_email as (

    select
        customer_id,
        email,
        full_name,
        city,
        -- a null e-mail never joins two records, nor a placeholder address many records share
        -- (noreply@..., the shop's own address): it would merge unrelated people
        case
            when email is null or is_placeholder_email then customer_id
            when email_records > {{ var('identity_email_max_records') }} then customer_id
            else min(customer_id) over (partition by email)
        end as email_anchor_id
    from email_counted

),

{% if var('identity_fuzzy_match') %}
anchors as (

    select
        email_anchor_id,
        min(full_name) as full_name,
        min(city) as city
    from by_email
    group by email_anchor_id

),

fuzzy_pairs as (

    -- blocked on city and the name's first letter so the comparison stays near linear
    select
        anchors.email_anchor_id,
        candidates.email_anchor_id as matched_anchor_id
    from anchors
    inner join anchors as candidates
        on
            anchors.city = candidates.city
            and left(anchors.full_name, 1) = left(candidates.full_name, 1)
            and candidates.email_anchor_id < anchors.email_anchor_id
    where
        length(anchors.full_name) > 3
        and {{ string_similarity('anchors.full_name', 'candidates.full_name') }}
        >= {{ var('identity_fuzzy_threshold') }}

),

anchor_to_person as (

    -- one hop: a record group joins the smallest group it resembles
    select
        email_anchor_id,
        min(matched_anchor_id) as person_id
    from fuzzy_pairs
    group by email_anchor_id

),
{% endif %}

mapped as (

    select
        -- ids
        by_email.customer_id,
        {% if var('identity_fuzzy_match') %}
            coalesce(anchor_to_person.person_id, by_email.email_anchor_id) as person_id,
        {% else %}
            by_email.email_anchor_id as person_id,
        {% endif %}

        -- strings
        case
        {% if var('identity_fuzzy_match') %}
                when anchor_to_person.person_id is not null then 'fuzzy_name_city'
            {% endif %}
            when by_email.email_anchor_id <> by_email.customer_id then 'same_email'
            else 'self'
        end as match_rule
    from by_email
    {% if var('identity_fuzzy_match') %}
        left join anchor_to_person
            on by_email.email_anchor_id = anchor_to_person.email_anchor_id
    {% endif %}

)

select * from mapped
