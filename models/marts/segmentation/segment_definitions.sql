-- one row per segment definition (the meta of this model in _segmentation__segments.yml),
-- plus one per cluster of this run (type cluster, default bounds) and one per prediction
-- segment (type predicted), for BI and the size tests;
-- with the channels each needs and whether it is evaluated in this run (not when a channel
-- it needs has no data: macros/segments/segment_channels.sql)
with

channels as (

    {{ channel_coverage_flags(ref('audit_raw_coverage')) }}

),

rule_definitions as (

    {{ segment_definitions_relation() }}

),

statuses as (

    {{ segment_statuses_relation('channels') }}

),

definitions as (

    select
        rule_definitions.*,
        statuses.required_channels,
        statuses.evaluation_status
    from rule_definitions
    inner join statuses
        on rule_definitions.segment = statuses.segment

),

{% if clustering_enabled() %}
    centres as (

        select * from {{ ref('cluster_centres') }}

    ),

    cluster_definitions as (

        select distinct
            {{ cluster_segment_name('cluster_id', 'cluster_name') }} as segment,
            'cluster' as segment_type,
            cast(null as string) as parent_segment,
            'Found by ' || algorithm || ' clustering of customer_features, named from its profile'
                as description,
            'person_id in segmentation.customer_clusters with this cluster_id' as condition_sql,
            {{ sql_string(segment_config().get('cluster_segments', {}).get('owner', 'analytics')) }}
                as segment_owner,
            {{ cluster_segment_priority('cluster_id') }} as priority,
            cast({{ var('segment_default_min_share') }} as double) as min_share,
            cast({{ var('segment_default_max_share') }} as double) as max_share,
            cast('' as string) as required_channels,
            'evaluated' as evaluation_status
        from centres

    ),
{% endif %}

{% if predictions_enabled() %}
    predictions as (

        select * from {{ ref('customer_predictions') }}

    ),

    prediction_definitions as (

        {{ prediction_segment_definitions_relation('predictions') }}

    ),
{% endif %}

unioned as (

    select * from definitions
    {% if clustering_enabled() %}
        union all
        select * from cluster_definitions
    {% endif %}
    {% if predictions_enabled() %}
        union all
        select * from prediction_definitions
    {% endif %}

)

select * from unioned
