def nowcast_targets(wildcards):
    """Final outputs of the nowcast module."""
    return []


register_targets("nowcast", nowcast_targets)
