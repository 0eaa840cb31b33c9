def downscale_targets(wildcards):
    """Final outputs of the downscale module."""
    return []


register_targets("downscale", downscale_targets)
