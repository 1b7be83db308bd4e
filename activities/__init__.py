"""Activities: the side effects of the contract timeline (notices, provisioning, refunds, records)."""
