"""The GCP source: ``gcp_bigquery`` (Cloud Billing export to BigQuery)."""
