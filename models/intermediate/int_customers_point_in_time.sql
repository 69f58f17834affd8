-- one row per person and snapshot: the prediction features as of as_of minus
-- snapshot_offset_days, and what the person bought in the horizons after it (the labels).
-- One query serves every snapshot, the scored one (offset 0) and the training ones, and
-- reads nothing after its snapshot's time except the label columns. Between the retrainings
-- of the prediction models only the snapshot at as_of is computed (the one scored)
{%- set offsets = prediction_snapshot_offsets_this_run() %}
{%- set horizons = prediction_horizons() %}
{%- set oldest = offsets | max %}

with

customers as (

    select * from {{ ref('dim_customers') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

orders as (

    select * from {{ ref('int_orders_priced') }}
    where is_completed

),

email_events as (

    select * from {{ ref('stg_raw__email_events') }}
    where occurred_at > {{ dbt.dateadd('day', -1 * (oldest + 90), as_of()) }}

),

sessions as (

    -- sessions, not events (a fifth of the rows): a session counts for a snapshot when it
    -- started in its 30 days and ended by its time, so no event after the snapshot is read
    select * from {{ ref('int_sessions_aggregated') }}
    where
        person_id is not null
        and started_at > {{ dbt.dateadd('day', -1 * (oldest + 30), as_of()) }}

),

snapshots as (

    {% for offset in offsets %}
        select
            cast({{ offset }} as integer) as snapshot_offset_days,
            {{ dbt.dateadd('day', -1 * offset, as_of()) }} as snapshot_at
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

people as (

    -- who exists at each snapshot: signed up, or bought, by then
    select
        customers.person_id,
        snapshots.snapshot_offset_days,
        snapshots.snapshot_at,
        customers.signup_at
    from customers
    inner join snapshots
        on coalesce(
            customers.signup_at, customers.first_completed_order_at
        ) <= snapshots.snapshot_at
        or customers.first_completed_order_at <= snapshots.snapshot_at

),

person_orders as (

    select
        customers_merged.person_id,
        orders.ordered_at,
        cast(orders.ordered_at as date) as purchase_date,
        orders.net_revenue
    from orders
    inner join customers_merged
        on orders.customer_id = customers_merged.customer_id

),

purchase_days as (

    -- one row per person, snapshot and day with a purchase up to the snapshot: BG/NBD
    -- counts purchase days (several orders on one day are one transaction)
    select
        person_orders.person_id,
        snapshots.snapshot_offset_days,
        person_orders.purchase_date,
        count(*) as day_orders,
        sum(person_orders.net_revenue) as day_revenue,
        max(person_orders.ordered_at) as day_last_ordered_at
    from person_orders
    inner join snapshots
        on person_orders.ordered_at <= snapshots.snapshot_at
    group by
        person_orders.person_id,
        snapshots.snapshot_offset_days,
        person_orders.purchase_date

),

order_history as (

    select
        purchase_days.person_id,
        purchase_days.snapshot_offset_days,
        sum(purchase_days.day_orders) as frequency,
        count(*) as purchase_days,
        sum(purchase_days.day_revenue) as monetary,
        min_by(purchase_days.day_revenue, purchase_days.purchase_date) as first_day_revenue,
        min(purchase_days.purchase_date) as first_purchase_date,
        max(purchase_days.purchase_date) as last_purchase_date,
        max(purchase_days.day_last_ordered_at) as last_purchase_at,
        sum(
            case
                when purchase_days.purchase_date > cast({{ dbt.dateadd('day', -30, 'snapshots.snapshot_at') }} as date)
                    then purchase_days.day_orders
                else 0
            end
        ) as orders_30d,
        sum(
            case
                when purchase_days.purchase_date > cast({{ dbt.dateadd('day', -90, 'snapshots.snapshot_at') }} as date)
                    then purchase_days.day_orders
                else 0
            end
        ) as orders_90d
    from purchase_days
    inner join snapshots
        on purchase_days.snapshot_offset_days = snapshots.snapshot_offset_days
    group by purchase_days.person_id, purchase_days.snapshot_offset_days

),

future_orders as (

    -- the labels: purchases in the horizon after the snapshot, only where the horizon has
    -- passed by as_of (else unknown, not zero)
    select
        person_orders.person_id,
        snapshots.snapshot_offset_days,
        {%- for name, days in horizons.items() %}
            count(distinct case
                when person_orders.ordered_at <= {{ dbt.dateadd('day', days, 'snapshots.snapshot_at') }}
                    then person_orders.purchase_date
            end) as purchase_days_next_{{ days }}d,
            sum(case
                when person_orders.ordered_at <= {{ dbt.dateadd('day', days, 'snapshots.snapshot_at') }}
                    then person_orders.net_revenue
                else 0
            end) as revenue_next_{{ days }}d,
        {%- endfor %}
        count(*) as orders_after_snapshot
    from person_orders
    inner join snapshots
        on
            person_orders.ordered_at > snapshots.snapshot_at
            and person_orders.ordered_at <= {{ as_of() }}
    group by person_orders.person_id, snapshots.snapshot_offset_days

),

email_days as (

    -- one row per person and whole day before as_of (floor of the fractional days): an
    -- event is at or before the snapshot k days back exactly when days_before >= k, and
    -- inside its w-day window when days_before < k + w, so the snapshots join on integers
    select
        customers_merged.person_id,
        cast(floor({{ fractional_days_between('email_events.occurred_at', as_of()) }}) as integer)
            as days_before,
        count(case when email_events.event_type = 'sent' then 1 end) as sent,
        count(case when email_events.event_type = 'open' then 1 end) as opens,
        count(case when email_events.event_type = 'click' then 1 end) as clicks,
        max(case when email_events.event_type in ('open', 'click') then email_events.occurred_at end)
            as last_engaged_at
    from email_events
    inner join customers_merged
        on email_events.customer_id = customers_merged.customer_id
    where email_events.occurred_at <= {{ as_of() }}
    group by
        customers_merged.person_id,
        cast(floor({{ fractional_days_between('email_events.occurred_at', as_of()) }}) as integer)

),

email_activity as (

    select
        email_days.person_id,
        snapshots.snapshot_offset_days,
        sum(email_days.sent) as emails_received_90d,
        sum(email_days.opens) as email_opens_90d,
        sum(email_days.clicks) as email_clicks_90d,
        sum(
            case when email_days.days_before < snapshots.snapshot_offset_days + 30 then email_days.opens else 0 end
        ) as email_opens_30d,
        max(email_days.last_engaged_at) as last_email_engaged_at
    from email_days
    inner join snapshots
        on
            email_days.days_before >= snapshots.snapshot_offset_days
            and email_days.days_before < snapshots.snapshot_offset_days + 90
    group by email_days.person_id, snapshots.snapshot_offset_days

),

web_activity as (

    select
        sessions.person_id,
        snapshots.snapshot_offset_days,
        sum(sessions.event_count) as web_events_30d,
        count(*) as sessions_30d,
        sum(sessions.product_views) as product_views_30d,
        sum(sessions.cart_adds) as cart_adds_30d,
        sum(sessions.checkouts_started) as checkouts_30d,
        max(sessions.ended_at) as last_visit_at
    from sessions
    inner join snapshots
        on
            sessions.ended_at <= snapshots.snapshot_at
            and sessions.started_at > {{ dbt.dateadd('day', -30, 'snapshots.snapshot_at') }}
    group by sessions.person_id, snapshots.snapshot_offset_days

),

joined as (

    select
        people.person_id,
        people.snapshot_offset_days,
        people.snapshot_at,
        people.signup_at,
        order_history.frequency,
        order_history.purchase_days,
        order_history.monetary,
        order_history.first_day_revenue,
        order_history.first_purchase_date,
        order_history.last_purchase_date,
        order_history.last_purchase_at,
        order_history.orders_30d,
        order_history.orders_90d,
        {%- for days in horizons.values() | unique %}
            future_orders.purchase_days_next_{{ days }}d,
            future_orders.revenue_next_{{ days }}d,
        {%- endfor %}
        email_activity.emails_received_90d,
        email_activity.email_opens_90d,
        email_activity.email_clicks_90d,
        email_activity.email_opens_30d,
        email_activity.last_email_engaged_at,
        web_activity.web_events_30d,
        web_activity.sessions_30d,
        web_activity.product_views_30d,
        web_activity.cart_adds_30d,
        web_activity.checkouts_30d,
        web_activity.last_visit_at
    from people
    left join order_history
        on
            people.person_id = order_history.person_id
            and people.snapshot_offset_days = order_history.snapshot_offset_days
    left join future_orders
        on
            people.person_id = future_orders.person_id
            and people.snapshot_offset_days = future_orders.snapshot_offset_days
    left join email_activity
        on
            people.person_id = email_activity.person_id
            and people.snapshot_offset_days = email_activity.snapshot_offset_days
    left join web_activity
        on
            people.person_id = web_activity.person_id
            and people.snapshot_offset_days = web_activity.snapshot_offset_days

),

final as (

    select
        -- ids
        person_id,
        snapshot_offset_days,

        -- numerics: the features, as of snapshot_at
        cast(coalesce(frequency, 0) as integer) as frequency,
        cast(coalesce(monetary, 0) as decimal(18, 2)) as monetary,
        cast(floor({{ fractional_days_between('last_purchase_at', 'snapshot_at') }}) as integer)
            as recency_days,
        cast(floor({{ fractional_days_between('signup_at', 'snapshot_at') }}) as integer)
            as tenure_days,
        cast(coalesce(orders_30d, 0) as integer) as orders_30d,
        cast(coalesce(orders_90d, 0) as integer) as orders_90d,
        -- BG/NBD and Gamma-Gamma inputs (daily periods, as in int_customers_rfm_scored)
        cast(coalesce(purchase_days - 1, 0) as integer) as repeat_purchase_count,
        cast({{ days_between_dates('first_purchase_date', 'last_purchase_date') }} as integer)
            as first_to_last_purchase_days,
        cast({{ days_between_dates('first_purchase_date', 'cast(snapshot_at as date)') }} as integer)
            as first_purchase_to_snapshot_days,
        case
            when purchase_days > 1
                -- in double on both engines: decimal division rounds differently on Spark
                then (cast(monetary as double) - cast(first_day_revenue as double)) / (purchase_days - 1)
        end as repeat_purchase_mean_value,
        cast(coalesce(emails_received_90d, 0) as integer) as emails_received_90d,
        cast(coalesce(email_opens_90d, 0) as integer) as email_opens_90d,
        cast(coalesce(email_clicks_90d, 0) as integer) as email_clicks_90d,
        cast(coalesce(email_opens_30d, 0) as integer) as email_opens_30d,
        cast(floor({{ fractional_days_between('last_email_engaged_at', 'snapshot_at') }}) as integer)
            as days_since_last_email_engagement,
        cast(coalesce(web_events_30d, 0) as integer) as web_events_30d,
        cast(coalesce(sessions_30d, 0) as integer) as sessions_30d,
        cast(coalesce(product_views_30d, 0) as integer) as product_views_30d,
        cast(coalesce(cart_adds_30d, 0) as integer) as cart_adds_30d,
        cast(coalesce(checkouts_30d, 0) as integer) as checkouts_30d,
        cast(floor({{ fractional_days_between('last_visit_at', 'snapshot_at') }}) as integer)
            as days_since_last_visit,

        -- numerics: the labels, null while the horizon after the snapshot has not passed
        {%- for days in horizons.values() | unique %}
            case
                when snapshot_offset_days >= {{ days }}
                    then cast(coalesce(purchase_days_next_{{ days }}d, 0) as integer)
            end as purchase_days_next_{{ days }}d,
            case
                when snapshot_offset_days >= {{ days }}
                    then cast(coalesce(revenue_next_{{ days }}d, 0) as decimal(18, 2))
            end as revenue_next_{{ days }}d,
        {%- endfor %}

        -- booleans
        coalesce(frequency, 0) > 0 as is_buyer,

        -- timestamps
        snapshot_at,
        {{ as_of() }} as as_of
    from joined

)

select * from final
