{#-
  Whole schemas at once, for warehouses Cartridge has no native scanner for: the schemas of a
  database, and the catalog of some of them (relations, their columns in order with types and
  comments, and nullability where the warehouse's information_schema says), and batches of profiles
  and containment checks. A few queries per call, never one per table where the adapter can help it:
  the catalog comes from dbt's own `get_catalog` (what `dbt docs generate` runs, one query per
  database); only adapters without that macro fall back to one `get_columns_in_relation` per
  relation. Keys are not read: dbt has no portable way to list them. Only selects.
-#}

{% macro list_schemas(database=none) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set database = database or target.database -%}
  {%- set result = {'database': database, 'schemas': cartridge.schemas_in_database(database)} -%}
  {%- do cartridge.emit_result('list_schemas', result) -%}
  {{ return(result) }}
{% endmacro %}

{#- dbt's list_schemas answers with an agate table whose column name differs per adapter (nspname,
    schema_name, name, ...), or with a plain list of names (BigQuery). -#}
{% macro schemas_in_database(database) %}
  {%- set listed = dbt.list_schemas(database) -%}
  {%- if listed is none -%}{{ return([]) }}{%- endif -%}
  {%- if listed.column_names is not defined -%}
    {{ return(listed | map('string') | list) }}
  {%- endif -%}
  {%- set preferred = ['name', 'schema_name', 'nspname'] | select('in', listed.column_names) | list -%}
  {%- set column = preferred[0] if preferred else listed.column_names[0] -%}
  {%- set names = [] -%}
  {%- for row in listed.rows -%}
    {%- do names.append(row[column] | string) -%}
  {%- endfor -%}
  {{ return(names) }}
{% endmacro %}


{#- The catalog of `schemas` (as in list_relations), and the schemas each of their databases has. -#}
{% macro catalog(schemas, nullability=true) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set result = adapter.dispatch('catalog', 'cartridge')(schemas, nullability) -%}
  {%- do cartridge.emit_result('catalog', result) -%}
  {{ return(result) }}
{% endmacro %}

{% macro default__catalog(schemas, nullability) %}
  {%- set by_database = {} -%}
  {%- for schema_relation in cartridge.schema_relations(schemas) -%}
    {%- do by_database.setdefault(schema_relation.database, []).append(schema_relation) -%}
  {%- endfor -%}
  {%- set existing = [] -%}
  {%- set relations = [] -%}
  {%- for database, schema_relations in by_database.items() -%}
    {%- for name in cartridge.schemas_in_database(database) -%}
      {%- do existing.append({'database': database, 'schema': name}) -%}
    {%- endfor -%}
    {%- set found = cartridge.catalog_of_database(schema_relations) -%}
    {%- if nullability -%}
      {%- do cartridge.add_nullability(database, found) -%}
    {%- endif -%}
    {%- do relations.extend(found) -%}
  {%- endfor -%}
  {{ return({'schemas': existing, 'relations': relations}) }}
{% endmacro %}


{#- Relations of schemas of one database, each with its columns (nullable: none, not yet known). -#}
{% macro catalog_of_database(schema_relations) %}
  {%- set get_catalog = adapter.dispatch('get_catalog', 'dbt') -%}
  {%- if get_catalog.macro is defined and get_catalog.macro.name == 'default__get_catalog' -%}
    {{ return(cartridge.catalog_by_relation(schema_relations)) }}
  {%- endif -%}
  {%- set names = schema_relations | map(attribute='schema') | list -%}
  {%- set table = get_catalog(schema_relations[0].information_schema(), names) -%}
  {%- set relations = {} -%}
  {%- for row in table.rows -%}
    {%- set key = tojson([row['table_schema'], row['table_name']]) -%}
    {%- if key not in relations -%}
      {%- do relations.update({key: {
        'database': row['table_database'],
        'schema': row['table_schema'],
        'identifier': row['table_name'],
        'type': row['table_type'],
        'comment': row['table_comment'] or none,
        'columns': [],
      }}) -%}
    {%- endif -%}
    {%- do relations[key].columns.append({
      'name': row['column_name'],
      'position': row['column_index'] | int,
      'data_type': row['column_type'],
      'comment': row['column_comment'] or none,
      'nullable': none,
    }) -%}
  {%- endfor -%}
  {%- set found = relations.values() | list -%}
  {%- for relation in found -%}
    {%- do relation.update({'columns': relation.columns | sort(attribute='position')}) -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}

{#- Adapters without a get_catalog macro: list each schema, then ask for each relation's columns. -#}
{% macro catalog_by_relation(schema_relations) %}
  {%- set found = [] -%}
  {%- for schema_relation in schema_relations -%}
    {%- for listed in cartridge.relations_in_schema(schema_relation) -%}
      {%- set relation = api.Relation.create(
        database=listed.database, schema=listed.schema, identifier=listed.identifier) -%}
      {%- set columns = [] -%}
      {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do columns.append({
          'name': column.name, 'position': loop.index, 'data_type': column.data_type,
          'comment': none, 'nullable': none,
        }) -%}
      {%- endfor -%}
      {%- do found.append({
        'database': listed.database, 'schema': listed.schema, 'identifier': listed.identifier,
        'type': listed.type, 'comment': none, 'columns': columns,
      }) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}


{#- Set each column's `nullable` from information_schema.columns, one query for the database's
    schemas; columns it does not list keep none. -#}
{% macro add_nullability(database, relations) %}
  {%- if not relations -%}{{ return(none) }}{%- endif -%}
  {%- set schemas = relations | map(attribute='schema') | unique | list -%}
  {%- set sql = adapter.dispatch('nullability_sql', 'cartridge')(database, schemas) -%}
  {%- if not sql -%}{{ return(none) }}{%- endif -%}
  {%- set nullable = {} -%}
  {%- for row in run_query(sql).rows -%}
    {%- set says = (row[3] | string | upper) in ('YES', 'Y', 'TRUE', '1') -%}
    {%- do nullable.update({tojson([row[0], row[1], row[2]]): says}) -%}
  {%- endfor -%}
  {%- for relation in relations -%}
    {%- for column in relation.columns -%}
      {%- set key = tojson([relation.schema, relation.identifier, column.name]) -%}
      {%- if key in nullable -%}
        {%- do column.update({'nullable': nullable[key]}) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
{% endmacro %}

{#- The SQL-standard view, where the adapter's information_schema_name puts it (per database). -#}
{% macro default__nullability_sql(database, schemas) %}
  {{ return(cartridge.nullability_select((information_schema_name(database) | trim) ~ '.columns', schemas, none)) }}
{% endmacro %}

{#- DuckDB keeps one information_schema for all attached databases, not one per database. -#}
{% macro duckdb__nullability_sql(database, schemas) %}
  {{ return(cartridge.nullability_select('information_schema.columns', schemas, database)) }}
{% endmacro %}

{#- BigQuery has INFORMATION_SCHEMA per dataset (or per region), not per project. -#}
{% macro bigquery__nullability_sql(database, schemas) %}
  {%- set selects = [] -%}
  {%- for schema in schemas -%}
    {%- set view = adapter.quote(database) ~ '.' ~ adapter.quote(schema) ~ '.INFORMATION_SCHEMA.COLUMNS' -%}
    {%- do selects.append(cartridge.nullability_select(view, [schema], none)) -%}
  {%- endfor -%}
  {{ return(selects | join('\nunion all\n')) }}
{% endmacro %}

{#- Spark and Databricks' Hive metastore have no information_schema: nullability stays unknown. -#}
{% macro spark__nullability_sql(database, schemas) %}{{ return(none) }}{% endmacro %}

{% macro nullability_select(view, schemas, database) %}
  {%- set names = [] -%}
  {%- for schema in schemas -%}
    {%- do names.append(cartridge.sql_string(schema)) -%}
  {%- endfor -%}
  {%- set sql -%}
    select table_schema, table_name, column_name, is_nullable
    from {{ view }}
    where table_schema in ({{ names | join(', ') }})
    {%- if database is not none %} and table_catalog = {{ cartridge.sql_string(database) }}{% endif %}
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}

{#- A string literal: quotes doubled, as the SQL standard (and all but BigQuery) escape them. -#}
{% macro sql_string(value) %}
  {{ return(adapter.dispatch('sql_string', 'cartridge')(value)) }}
{% endmacro %}

{% macro default__sql_string(value) %}
  {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{% endmacro %}

{% macro bigquery__sql_string(value) %}
  {{ return("'" ~ (value | string).replace('\\', '\\\\').replace("'", "\\'") ~ "'") }}
{% endmacro %}


{#- Profile many relations in one dbt call: `items` is a list of {relation, columns, sample_percent}
    (only `relation` required); each is profiled as profile_relation does. -#}
{% macro profile_relations(items, top_n=5, top_values_max_distinct=50) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set profiles = [] -%}
  {%- for item in items -%}
    {%- do profiles.append(adapter.dispatch('profile_relation', 'cartridge')(
      item.relation, item.get('columns'), item.get('sample_percent'), top_n, top_values_max_distinct)) -%}
  {%- endfor -%}
  {%- set result = {'profiles': profiles} -%}
  {%- do cartridge.emit_result('profile_relations', result) -%}
  {{ return(result) }}
{% endmacro %}

{#- Many containment checks in one dbt call: `checks` is a list of {child_relation, child_column,
    parent_relation, parent_column, sample_percent}, each answered as check_containment does. -#}
{% macro check_containments(checks) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set results = [] -%}
  {%- for check in checks -%}
    {%- do results.append(adapter.dispatch('check_containment', 'cartridge')(
      check.child_relation, check.child_column, check.parent_relation, check.parent_column,
      check.get('sample_percent'))) -%}
  {%- endfor -%}
  {%- set result = {'results': results} -%}
  {%- do cartridge.emit_result('check_containments', result) -%}
  {{ return(result) }}
{% endmacro %}
