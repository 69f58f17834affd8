-- every raw e-mail campaign row, typed, with its contract check
{%- set typing = raw_typing('email_campaigns') %}
with

source as (

    select * from {{ source('raw', 'email_campaigns') }}

),

renamed as (

    select
        -- ids
        cast(campaign_id as string) as campaign_id,

        -- strings
        nullif(trim(cast(campaign_name as string)), '') as campaign_name,
        cast(subject as string) as subject,
        nullif(trim({{ raw_optional_cast(typing, 'audience') }}), '') as audience,

        -- timestamps
        {{ raw_cast(typing, 'sent_at') }} as sent_at,

        -- contract verdict on the types
        {{ raw_type_violation(typing) }} as invalid_type_reason,

        -- lineage
        {{ row_as_json('source') }} as raw_record

    from source

),

validated as (

    select
        *,
        campaign_id as record_key,
        case
            when invalid_type_reason is not null then invalid_type_reason
            when campaign_id is null then 'null_key'
        end as reject_reason
    from renamed

)

select * from validated
