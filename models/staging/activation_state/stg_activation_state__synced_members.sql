-- one row per destination, audience and person a destination holds after its last confirmed sync
with

source as (

    select * from {{ source('activation_state', 'synced_members') }}

),

renamed as (

    select
        -- ids
        cast(destination as string) as destination,
        cast(audience as string) as audience,
        cast(person_id as string) as person_id,

        -- strings
        cast(email as string) as email,
        cast(first_name as string) as first_name,
        cast(primary_segment as string) as primary_segment,
        cast(lifecycle_stage as string) as lifecycle_stage,
        cast(value_tier as string) as value_tier,
        cast(purchase_likelihood as string) as purchase_likelihood,
        cast(churn_risk as string) as churn_risk,
        cast(predicted_value as string) as predicted_value,
        cast(favourite_category as string) as favourite_category,
        cast(member_fingerprint as string) as member_fingerprint,
        cast(sync_id as string) as sync_id,

        -- timestamps
        cast(synced_at as timestamp) as synced_at
    from source

)

select * from renamed
