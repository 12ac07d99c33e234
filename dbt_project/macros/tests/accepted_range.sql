{#- Generic data test: a column's non-null values lie within [min_value, max_value]
    (either bound optional; `inclusive: false` makes both bounds strict).

    columns:
      - name: quantity
        data_tests:
          - accepted_range:
              arguments:
                min_value: 1
-#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

{%- set low = ">=" if inclusive else ">" %}
{%- set high = "<=" if inclusive else "<" %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not (
    1 = 1
    {%- if min_value is not none %} and {{ column_name }} {{ low }} {{ min_value }}{% endif %}
    {%- if max_value is not none %} and {{ column_name }} {{ high }} {{ max_value }}{% endif %}
  )

{% endtest %}
