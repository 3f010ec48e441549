"""Daily load of the orders mart: Postgres OLTP replica -> dw staging -> marts."""
from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.models import Variable
from airflow.operators.python import PythonOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.postgres.hooks.postgres import PostgresHook

# notes: 0

DW_CONN_ID = "warehouse_dw"          # resolved by the Vault secrets backend
OLTP_CONN_ID = "orders_oltp_replica"  # read-only replica user
S3_CONN_ID = "aws_data_lake"          # role-based, no static keys

default_args = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": pendulum.duration(minutes=10),
    "email_on_failure": False,
}


def _extract_orders(ds: str, **_) -> int:
    src = PostgresHook(postgres_conn_id=OLTP_CONN_ID)
    dst = PostgresHook(postgres_conn_id=DW_CONN_ID)
    rows = src.get_records(
        "select id, customer_id, status, total_cents, updated_at "
        "from orders where updated_at::date = %s",
        parameters=(ds,),
    )
    dst.insert_rows("staging.orders", rows, replace=True, replace_index="id")
    return len(rows)


with DAG(
    dag_id="orders_daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="30 2 * * *",
    catchup=False,
    default_args=default_args,
    tags=["orders", "dw"],
) as dag:
    extract = PythonOperator(task_id="extract_orders", python_callable=_extract_orders)

    build_mart = SQLExecuteQueryOperator(
        task_id="build_orders_mart",
        conn_id=DW_CONN_ID,
        sql="sql/marts/orders_daily.sql",
        params={"lookback_days": int(Variable.get("orders_lookback_days", default_var=3))},
    )

    extract >> build_mart
