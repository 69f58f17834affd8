-- every one of the 5 x 5 x 5 score cells is mapped (uniqueness is a generic test on the seed)
select count(*) as mapped_cells
from {{ ref('rfm_segment_map') }}
having count(*) <> 125
