-- one row per person: every feature as of var as_of; the input of segments and clustering
with

customers as (

    select * from {{ ref('dim_customers') }}

),

rfm as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

engagement as (

    select * from {{ ref('int_customers_engagement_scored') }}

),

activity as (

    select * from {{ ref('int_customers_activity_summarized') }}

),

rfm_segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

favourites as (

    -- rank 1 of each affinity type (models/marts/content)
    select
        person_id,
        max(case when affinity_type = 'category' then affinity_value end) as favourite_category,
        max(case when affinity_type = 'category' then affinity_share end) as favourite_category_share,
        max(case when affinity_type = 'brand' then affinity_value end) as favourite_brand
    from {{ ref('customer_affinities') }}
    where affinity_rank = 1
    group by person_id

),

channels as (

    -- one row: has_<channel>_data for each feature channel (macros/channels.sql)
    {{ channel_coverage_flags(ref('audit_raw_coverage')) }}

),

value_ranks as (

    -- value tiers: position by net revenue, ties share the better position; a window
    -- over everyone, so it carries only the ranked column, not every feature
    select
        customers.person_id,
        rank() over (order by coalesce(rfm.monetary, 0) desc) as value_rank,
        count(*) over () as people_count
    from customers
    left join rfm
        on customers.person_id = rfm.person_id

),

joined as (

    select
        customers.*,
        floor({{ fractional_days_between('customers.birth_date', as_of()) }} / 365.25) as age_years,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary,
        rfm.recency_days_window,
        rfm.frequency_window,
        rfm.monetary_window,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.average_order_value,
        rfm.discount_order_share,
        rfm.repeat_purchase_count,
        rfm.first_to_last_purchase_days,
        rfm.first_purchase_to_as_of_days,
        rfm.first_purchase_at,
        rfm.last_purchase_at,
        engagement.engagement_score,
        engagement.email_engagement_score,
        engagement.web_engagement_score,
        engagement.emails_received_90d,
        engagement.email_open_rate_90d,
        engagement.email_click_rate_90d,
        engagement.has_unsubscribed,
        engagement.has_bounced,
        activity.web_sessions_total,
        activity.web_sessions_90d,
        activity.product_views_90d,
        activity.cart_adds_90d,
        activity.cart_add_count,
        activity.abandoned_cart_count,
        activity.cart_abandonment_rate,
        activity.abandoned_cart_value,
        activity.checkouts_without_purchase_7d,
        activity.last_visit_at,
        activity.last_product_view_at,
        activity.last_email_open_at,
        activity.last_email_click_at,
        activity.last_email_event_at,
        activity.last_abandoned_cart_at,
        activity.last_browsing_intent_at,
        activity.last_checkout_without_purchase_at,
        rfm_segment_map.rfm_segment,
        favourites.favourite_category,
        favourites.favourite_category_share,
        favourites.favourite_brand,
        greatest(
            coalesce(customers.last_completed_order_at, customers.signup_at),
            coalesce(activity.last_visit_at, customers.signup_at),
            coalesce(activity.last_email_open_at, customers.signup_at),
            coalesce(activity.last_email_click_at, customers.signup_at)
        ) as last_activity_at,
        value_ranks.value_rank,
        value_ranks.people_count
    from customers
    left join rfm
        on customers.person_id = rfm.person_id
    left join engagement
        on customers.person_id = engagement.person_id
    left join activity
        on customers.person_id = activity.person_id
    left join value_ranks
        on customers.person_id = value_ranks.person_id
    left join favourites
        on customers.person_id = favourites.person_id
    left join rfm_segment_map
        on
            rfm.recency_score = rfm_segment_map.recency_score
            and rfm.frequency_score = rfm_segment_map.frequency_score
            and rfm.monetary_score = rfm_segment_map.monetary_score

),

computed as (

    select
        -- ids
        person_id,

        -- strings
        country,
        gender,
        case
            when age_years is null then 'unknown'
            when age_years < 25 then '18-24'
            when age_years < 35 then '25-34'
            when age_years < 45 then '35-44'
            when age_years < 55 then '45-54'
            when age_years < 65 then '55-64'
            else '65+'
        end as age_band,
        email_consent_status,
        rfm_segment,
        case
            when frequency is null or frequency = 0 then 'prospect'
            when last_activity_at <= {{ dbt.dateadd('day', -1 * var('lifecycle_lost_days'), as_of()) }}
                then 'lost'
            when last_activity_at <= {{ dbt.dateadd('day', -1 * var('lifecycle_dormant_days'), as_of()) }}
                then 'dormant'
            when first_purchase_at > {{ dbt.dateadd('day', -1 * var('lifecycle_new_days'), as_of()) }}
                then 'new'
            when last_purchase_at <= {{ dbt.dateadd('day', -1 * var('lifecycle_at_risk_days'), as_of()) }}
                then 'at_risk'
            when
                frequency > {{ var('lifecycle_loyal_min_orders') }}
                or email_open_rate_90d > {{ var('lifecycle_loyal_min_open_rate') }}
                then 'loyal'
            else 'active'
        end as lifecycle_stage,
        case
            when monetary > 0 and value_rank <= {{ var('value_top_share') }} * people_count then 'top_10'
            when monetary > 0 and value_rank <= {{ var('value_next_share') }} * people_count then 'next_40'
            else 'rest'
        end as value_tier,
        case
            when recency_score is not null
                then
                    cast(recency_score as string)
                    || cast(frequency_score as string)
                    || cast(monetary_score as string)
        end as rfm_cell,
        favourite_category,
        favourite_brand,

        -- numerics: tenure and RFM (null for people who never completed an order)
        cast(floor({{ fractional_days_between('signup_at', as_of()) }}) as integer) as tenure_days,
        recency_days,
        coalesce(frequency, 0) as frequency,
        coalesce(monetary, 0) as monetary,
        recency_days_window,
        coalesce(frequency_window, 0) as frequency_window,
        coalesce(monetary_window, 0) as monetary_window,
        recency_score,
        frequency_score,
        monetary_score,
        average_order_value,
        discount_order_share,
        repeat_purchase_count,
        first_to_last_purchase_days,
        first_purchase_to_as_of_days,
        favourite_category_share,

        -- numerics: engagement (zero when there are no e-mail or web events)
        coalesce(engagement_score, 0) as engagement_score,
        coalesce(email_engagement_score, 0) as email_engagement_score,
        coalesce(web_engagement_score, 0) as web_engagement_score,
        coalesce(emails_received_90d, 0) as emails_received_90d,
        email_open_rate_90d,
        email_click_rate_90d,

        -- numerics: days since each activity (null when it never happened)
        cast(floor({{ fractional_days_between('last_completed_order_at', as_of()) }}) as integer)
            as days_since_last_order,
        cast(floor({{ fractional_days_between('last_activity_at', as_of()) }}) as integer)
            as days_since_last_activity,
        cast(floor({{ fractional_days_between('last_visit_at', as_of()) }}) as integer)
            as days_since_last_visit,
        cast(floor({{ fractional_days_between('last_product_view_at', as_of()) }}) as integer)
            as days_since_last_product_view,
        cast(floor({{ fractional_days_between('last_email_open_at', as_of()) }}) as integer)
            as days_since_last_email_open,
        cast(floor({{ fractional_days_between('last_email_click_at', as_of()) }}) as integer)
            as days_since_last_email_click,
        cast(floor({{ fractional_days_between('last_abandoned_cart_at', as_of()) }}) as integer)
            as days_since_last_abandoned_cart,

        -- numerics: web, carts and intent
        coalesce(web_sessions_total, 0) as web_sessions_total,
        coalesce(web_sessions_90d, 0) as web_sessions_90d,
        coalesce(product_views_90d, 0) as product_views_90d,
        coalesce(cart_adds_90d, 0) as cart_adds_90d,
        coalesce(cart_add_count, 0) as cart_add_count,
        coalesce(abandoned_cart_count, 0) as abandoned_cart_count,
        cart_abandonment_rate,
        coalesce(abandoned_cart_value, 0) as abandoned_cart_value,
        coalesce(checkouts_without_purchase_7d, 0) as checkouts_without_purchase_7d,

        -- booleans
        is_email_opted_in,
        coalesce(has_unsubscribed, false) as has_unsubscribed,
        coalesce(has_bounced, false) as has_bounced,
        has_ordered,
        coalesce(
            last_browsing_intent_at > {{ dbt.dateadd('day', -7, as_of()) }}, false
        ) as has_recent_browsing_intent,
        coalesce(checkouts_without_purchase_7d, 0) > 0 as has_checkout_without_purchase_7d,

        -- timestamps
        signup_at,
        first_purchase_at,
        last_purchase_at,
        last_visit_at,
        last_email_open_at,
        last_abandoned_cart_at,
        last_browsing_intent_at,
        last_checkout_without_purchase_at,
        -- the newest event behind this row's features (for freshness tests)
        greatest(
            coalesce(last_ordered_at, signup_at),
            coalesce(last_visit_at, signup_at),
            coalesce(last_email_event_at, signup_at),
            coalesce(updated_at, signup_at)
        ) as last_event_at,
        {{ as_of() }} as as_of
    from joined

),

final as (

    -- a column that needs a channel without data is null: unknown, not zero (column
    -- meta.channels in the yml, macro channel_feature); the columns in contract order
    {%- set feature_columns = feature_channel_groups() %}
    select
        {%- for column_name, groups in feature_columns.items() %}
            {{ channel_feature(groups, 'computed.' ~ column_name) }} as {{ column_name }}
            {{- ',' if not loop.last }}
        {%- else %}
            -- (while parsing and in unit tests: no graph to read the column meta from)
            computed.*
        {%- endfor %}
    from computed
    cross join channels

)

select * from final
