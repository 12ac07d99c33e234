{#- Generic data test: a set of columns is unique together (a composite key).
    Fails with each duplicated combination and how many rows carry it.

    data_tests:
      - unique_combination_of_columns:
          arguments:
            combination_of_columns: [transaction_id, line_no]
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns = combination_of_columns | join(', ') %}

select {{ columns }}, count(*) as duplicate_rows
from {{ model }}
group by {{ columns }}
having count(*) > 1

{% endtest %}
