def riskseg_targets(wildcards):
    """Final outputs of the riskseg module."""
    return []


register_targets("riskseg", riskseg_targets)
