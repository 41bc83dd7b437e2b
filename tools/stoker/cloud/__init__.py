"""Immutable deploys to OpenStack: plan, create and rebuild a VM from its
Ignition config, keeping its server identity, addresses and data volume.

Public entry points:
    load_placement(vm, root)                -> Placement
    load_config(path)                       -> Config
    diff_configs(old, new)                  -> ConfigDiff   (pure)
    Cloud.connect(cloud_name)               -> Cloud        (openstacksdk behind it)
    prepare_deploy(cloud, placement, config, state_dir, settings) -> DeployPlan
    DeployPlan.execute(events)              -> DeployResult
    fleet_status(cloud_for, placements, builds) -> list[StatusRow]
"""
