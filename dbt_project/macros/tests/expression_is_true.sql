{#- Generic data test: every row satisfies a SQL boolean expression (an invariant such as
    `total_price = gross_revenue - discounts + tax + shipping`). Fails with the rows where the
    expression is false; rows where it is null count as failures too, unless `where` excludes them.

    models:
      - name: stg_pos__sales_lines
        data_tests:
          - expression_is_true:
              arguments:
                expression: "net_amount = gross_amount - discount_amount"
-#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
