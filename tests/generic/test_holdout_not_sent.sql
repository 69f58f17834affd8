{#- Warns with one row per campaign and person held out of the campaign's audience whom the
    e-mail platform sent it anyway: the list synced was not the treatment, and the uplift
    of that campaign is contaminated (the holdout got the e-mail). -#}
{% test holdout_not_sent(model) %}

{{ config(severity='warn') }}

select
    campaign_id,
    person_id
from {{ model }}
where split_group = 'holdout' and was_sent

{% endtest %}
