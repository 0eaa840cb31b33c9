def cbh_targets(wildcards):
    """Final outputs of the cbh module."""
    return []


register_targets("cbh", cbh_targets)
