-- one row per segment definition (macros/segments/segment_definitions.sql), plus one per
-- cluster of this run (type cluster, default bounds), for BI and the size tests
with

definitions as (

    {{ segment_definitions_relation() }}

),

{% if var('enable_clustering', true) %}
    centres as (

        select * from {{ ref('cluster_centres') }}

    ),

    cluster_definitions as (

        select distinct
            {{ cluster_segment_name('cluster_id', 'cluster_name') }} as segment,
            'cluster' as segment_type,
            cast(null as varchar) as parent_segment,
            'Found by ' || algorithm || ' clustering of customer_features, named from its profile'
                as description,
            'person_id in segmentation.customer_clusters with this cluster_id' as condition_sql,
            'analytics' as segment_owner,
            cast(400 + cluster_id as integer) as priority,
            cast({{ var('segment_default_min_share', 0.01) }} as double) as min_share,
            cast({{ var('segment_default_max_share', 1.0) }} as double) as max_share
        from centres

    ),
{% endif %}

unioned as (

    select * from definitions
    {% if var('enable_clustering', true) %}
        union all
        select * from cluster_definitions
    {% endif %}

)

select * from unioned
