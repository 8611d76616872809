"""The four services of the pipeline: registration, vouchers, control and notify."""
