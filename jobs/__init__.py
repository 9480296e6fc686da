"""The worker: ingest, keyword alerts, digests and delivery."""
